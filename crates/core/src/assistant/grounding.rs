//! Help-center articles behind a suggestion: which ones the model cited, their links put in
//! the reply, and semantic search's arithmetic (cosine similarity, and reciprocal-rank fusion
//! of the lexical and the semantic rankings).

use super::prompts::Source;

/// A suggestion with its `[n]` citations replaced by the articles' links.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cited {
    pub text: String,
    /// Numbers of the sources the answer used.
    pub cited: Vec<usize>,
}

/// Replaces each `[n]` naming a source with its URL (a customer can follow it; an unknown
/// number is dropped) and notes which sources were cited, by number or by their URL.
pub fn cite(answer: &str, sources: &[Source]) -> Cited {
    let mut text = String::with_capacity(answer.len());
    let mut cited = Vec::new();
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(']').filter(|&c| c > 0 && c <= 3);
        let number = close.and_then(|c| after[..c].parse::<usize>().ok());
        match (close, number) {
            (Some(c), Some(n)) => {
                if let Some(s) = sources.iter().find(|s| s.number == n) {
                    text.push('(');
                    text.push_str(&s.url);
                    text.push(')');
                    if !cited.contains(&n) {
                        cited.push(n);
                    }
                }
                rest = &after[c + 1..];
            }
            _ => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    for s in sources {
        if !cited.contains(&s.number) && answer.contains(&s.url) {
            cited.push(s.number);
        }
    }
    cited.sort_unstable();
    // "…in 30 days (url) ." reads badly: no space before the punctuation a marker preceded.
    let text = text.replace(") .", ").");
    Cited {
        text: text.trim().to_owned(),
        cited,
    }
}

/// Cosine similarity of two vectors (0 when either is zero or their lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() || a.is_empty() {
        return 0.0;
    }
    let (mut dot, mut na, mut nb) = (0f32, 0f32, 0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        na += x * x;
        nb += y * y;
    }
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na.sqrt() * nb.sqrt())
    }
}

/// A vector as stored: its f32s little-endian, in base64 (a 1,536-dimension embedding is 8 KB
/// instead of ~20 KB of JSON, and reads back without parsing numbers).
pub fn pack(vector: &[f32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes)
}

/// [`pack`] undone; `None` for text that is not a packed vector.
pub fn unpack(text: &str) -> Option<Vec<f32>> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text)
        .ok()?;
    if bytes.len() % 4 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
    )
}

/// Below this similarity an article is not considered related at all.
pub const MIN_SIMILARITY: f32 = 0.3;
/// Reciprocal-rank fusion's constant (the usual 60).
const RRF_K: f32 = 60.0;

/// The articles of both rankings, best first: each scores `1/(k + rank)` in each ranking it is
/// in, so an article both rankings like comes first, and one only the embeddings found (a
/// question worded unlike the article) still comes in. `semantic` is (id, similarity).
pub fn fuse(lexical: &[i64], semantic: &[(i64, f32)], limit: usize) -> Vec<i64> {
    let mut semantic: Vec<(i64, f32)> = semantic
        .iter()
        .copied()
        .filter(|(_, s)| *s >= MIN_SIMILARITY)
        .collect();
    semantic.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut scores: Vec<(i64, f32)> = Vec::new();
    let mut add = |id: i64, rank: usize| {
        let s = 1.0 / (RRF_K + rank as f32 + 1.0);
        match scores.iter_mut().find(|(i, _)| *i == id) {
            Some(e) => e.1 += s,
            None => scores.push((id, s)),
        }
    };
    for (rank, id) in lexical.iter().enumerate() {
        add(*id, rank);
    }
    for (rank, (id, _)) in semantic.iter().enumerate() {
        add(*id, rank);
    }
    scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scores.into_iter().take(limit).map(|(id, _)| id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(n: usize, url: &str) -> Source {
        Source {
            number: n,
            article_id: n as i64 * 10,
            title: format!("A{n}"),
            url: url.into(),
            text: String::new(),
        }
    }

    #[test]
    fn citations_become_links() {
        let s = [
            source(1, "https://h/hc/p/articles/one"),
            source(2, "https://h/two"),
        ];
        let c = cite("See [1] and [7], or [x]. Also [1].", &s);
        assert_eq!(
            c.text,
            "See (https://h/hc/p/articles/one) and , or [x]. Also (https://h/hc/p/articles/one)."
        );
        assert_eq!(c.cited, vec![1]);
        let c = cite("Read https://h/two please", &s);
        assert_eq!(c.cited, vec![2]);
        assert_eq!(cite("no sources [", &s).text, "no sources [");
    }

    #[test]
    fn vectors_pack_and_unpack_exactly() {
        let v = vec![0.0, -1.5, f32::MIN_POSITIVE, 3.25e-7, 1e30];
        assert_eq!(unpack(&pack(&v)), Some(v));
        assert_eq!(unpack(&pack(&[])), Some(vec![]));
        assert_eq!(unpack("not base64!"), None);
        assert_eq!(unpack("AAA"), None, "two bytes are no f32");
    }

    #[test]
    fn cosine_of_known_vectors() {
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 1.0]), 0.0);
        assert_eq!(cosine(&[0.0, 0.0], &[1.0, 0.0]), 0.0);
        assert_eq!(cosine(&[1.0], &[1.0, 0.0]), 0.0);
    }

    #[test]
    fn fusion_puts_agreement_first_and_keeps_semantic_only_finds() {
        let fused = fuse(&[1, 2], &[(2, 0.9), (3, 0.8), (4, 0.1)], 10);
        assert_eq!(fused, vec![2, 1, 3]);
        assert_eq!(fuse(&[], &[(5, 0.5)], 1), vec![5]);
        assert!(fuse(&[], &[(5, 0.2)], 3).is_empty());
    }
}
