//! Tests of the semaphore: permits are handed out up to the limit and each frees one place.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use super::*;

#[test]
fn a_limit_holds_and_a_release_frees_one_place() {
    let mut semaphore = Semaphore::new(Some(2));
    let a = semaphore.try_acquire().unwrap();
    let b = semaphore.try_acquire().unwrap();
    assert!(semaphore.try_acquire().is_none());
    semaphore.release(a);
    assert_eq!(semaphore.held(), 1);
    let c = semaphore.try_acquire().unwrap();
    assert!(semaphore.try_acquire().is_none());
    semaphore.release(b);
    semaphore.release(c);
    assert_eq!(semaphore.held(), 0);
}

#[test]
fn no_limit_hands_out_as_many_as_asked() {
    let mut semaphore = Semaphore::new(None);
    let permits: Vec<Permit> = (0..1000)
        .map(|_| semaphore.try_acquire().unwrap())
        .collect();
    assert_eq!(semaphore.held(), 1000);
    for permit in permits {
        semaphore.release(permit);
    }
    assert_eq!(semaphore.held(), 0);
}
