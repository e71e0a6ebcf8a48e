//! `--skip-existing`'s decision: which URLs (get) and ids (crawl) an earlier run saved,
//! so they are not requested again.
//!
//! The output layer reads its record of saved files (`crate::output::record`) and keeps
//! only the lines whose file is still there, unchanged; this is what is left of them: a
//! key (the URL as first given, or the id) and the name it was saved under. The feed
//! asks [`SavedFiles::name_of`] before it makes a file job, and the names recorded are
//! claimed in the run's [`NameRegistry`] first, so no new file of this run (another URL
//! mapping to the same name, a `-J` name) replaces one an earlier run saved.
//!
//! Layer: `policy`; may use `protocol` and `model` (see `src/policy/mod.rs`).

use std::collections::HashMap;

use crate::policy::names::NameRegistry;
use crate::protocol::url::Url;

/// The files earlier runs saved: key → name.
#[derive(Debug, Default)]
pub struct SavedFiles {
    by_key: HashMap<String, String>,
}

impl SavedFiles {
    /// The saved files from `(key, name)` pairs (a later pair for a key wins), each name
    /// claimed in `names`.
    pub fn new(
        entries: impl IntoIterator<Item = (String, String)>,
        names: &mut NameRegistry,
    ) -> Self {
        let mut by_key = HashMap::new();
        for (key, name) in entries {
            if !names.is_taken(&name) {
                names.claim(name.clone());
            }
            by_key.insert(key, name);
        }
        SavedFiles { by_key }
    }

    /// The name `key`'s file was saved under, if an earlier run saved it.
    pub fn name_of(&self, key: &str) -> Option<&str> {
        self.by_key.get(key).map(String::as_str)
    }

    /// How many files earlier runs saved (that are still there).
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// True when no earlier run saved anything here.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

/// A file not requested because an earlier run saved it.
#[derive(Debug)]
pub struct SkippedFile {
    /// The URL it would have been fetched from.
    pub url: Url,
    /// The name it was saved under.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_saved_keys_and_claims_their_names() {
        let mut names = NameRegistry::new();
        let saved = SavedFiles::new(
            [
                ("http://h/a/x".to_string(), "x".to_string()),
                ("http://h/b/x".to_string(), "x.1".to_string()),
            ],
            &mut names,
        );
        assert_eq!(saved.name_of("http://h/a/x"), Some("x"));
        assert_eq!(saved.name_of("http://h/b/x"), Some("x.1"));
        assert_eq!(saved.name_of("http://h/c/x"), None);
        // A third URL that maps to `x` gets neither of the saved names.
        assert_eq!(names.claim("x".to_string()), "x.2");
        assert_eq!(saved.len(), 2);
    }
}
