//! Mutated inputs for the decoders' property tests (models, query, indexer): a valid text with
//! a few bytes replaced, inserted or removed, drawn mostly from JSON's and CSV's own characters so
//! that many mutants still parse and reach deeper checks. Each crate's test binary includes this
//! file (`#[path]`), so the three share one generator.

use proptest::prelude::*;

/// One edit of a text: a byte replaced, inserted or removed (positions wrap around the text).
#[derive(Debug, Clone)]
pub enum Edit {
    /// The byte at a position replaced.
    Replace(usize, u8),
    /// A byte inserted at a position.
    Insert(usize, u8),
    /// The byte at a position removed.
    Remove(usize),
}

/// One to seven edits.
pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let byte = prop_oneof![prop::sample::select(b"{}[]\":,0123456789-.eE tfnul\\/|ab\n\r".to_vec()), any::<u8>()];
    let edit = prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(at, byte)| Edit::Replace(at, byte)),
        (any::<usize>(), byte).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<usize>().prop_map(Edit::Remove),
    ];
    prop::collection::vec(edit, 1..8)
}

/// `text` with `edits` applied.
pub fn mutate(text: &str, edits: &[Edit]) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    for edit in edits {
        match *edit {
            Edit::Replace(at, byte) if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] = byte;
            }
            Edit::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), byte),
            Edit::Remove(at) if !bytes.is_empty() => {
                bytes.remove(at % bytes.len());
            }
            _ => {}
        }
    }
    bytes
}
