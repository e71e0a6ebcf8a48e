//! `miodl demo`: the seed's comparison, run and explained.
pub mod bound;
