//! Random words for checks: a check that asks the learner's code to echo a
//! fresh word, and expects it back, cannot be passed by a hard-coded answer.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

const CONSONANTS: &[u8] = b"bdfgklmnprstvz";
const VOWELS: &[u8] = b"aeiou";

/// A random, pronounceable, lowercase ASCII word of eight letters, such as
/// `kobaluti`: easy to spot in output, and safe in file names, hostnames,
/// environment variables and shell arguments.
///
/// The randomness comes from the standard library's per-process hash keys,
/// which is plenty to defeat hard-coding and needs no dependency.
pub fn random_word() -> String {
    let mut bits = RandomState::new().build_hasher().finish();
    let mut word = String::with_capacity(8);
    for i in 0..8 {
        let letters = if i % 2 == 0 { CONSONANTS } else { VOWELS };
        word.push(letters[(bits % letters.len() as u64) as usize] as char);
        bits /= letters.len() as u64;
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_eight_lowercase_letters_alternating_consonant_and_vowel() {
        for _ in 0..100 {
            let word = random_word();
            assert_eq!(word.len(), 8, "{word}");
            for (i, letter) in word.bytes().enumerate() {
                let letters = if i % 2 == 0 { CONSONANTS } else { VOWELS };
                assert!(letters.contains(&letter), "{word}");
            }
        }
    }

    #[test]
    fn words_differ_from_call_to_call() {
        let words: std::collections::BTreeSet<String> = (0..20).map(|_| random_word()).collect();
        assert!(words.len() > 15, "{words:?}");
    }
}
