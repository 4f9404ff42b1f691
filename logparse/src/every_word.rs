//! Exhaustive test inputs: every word up to a length over a small alphabet, for tests that
//! check a fast path against its reference form on all short inputs.

/// Every sequence of 0 to `max_len` items of `alphabet`, shortest first.
pub(crate) fn every_word<T: Copy>(
    alphabet: &[T],
    max_len: usize,
) -> impl Iterator<Item = Vec<T>> + '_ {
    let k = alphabet.len();
    (0..=max_len).flat_map(move |len| {
        (0..k.pow(len as u32)).map(move |code| {
            let mut c = code;
            (0..len)
                .map(|_| {
                    let item = alphabet[c % k];
                    c /= k;
                    item
                })
                .collect()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::every_word;

    #[test]
    fn all_words_once_shortest_first() {
        let words: Vec<Vec<u8>> = every_word(b"ab", 2).collect();
        assert_eq!(
            words,
            vec![
                vec![],
                vec![b'a'],
                vec![b'b'],
                vec![b'a', b'a'],
                vec![b'b', b'a'],
                vec![b'a', b'b'],
                vec![b'b', b'b'],
            ]
        );
    }
}
