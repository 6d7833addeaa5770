//! Short ids: any unique prefix of at least six characters names a reply or commitment, as in git.

use ulid::Ulid;

use crate::error::DomainError;

/// The fewest characters a prefix may have.
pub const MIN_PREFIX: usize = 6;

/// Upper-cases and checks a user-typed id or prefix (Crockford base32, as ULIDs are written).
pub fn normalize_prefix(input: &str) -> Result<String, DomainError> {
    let prefix = input.trim().to_ascii_uppercase();
    let valid = prefix.len() >= MIN_PREFIX
        && prefix.len() <= 26
        && prefix.bytes().all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)));
    if valid {
        Ok(prefix)
    } else {
        Err(DomainError::BadId { input: input.to_string() })
    }
}

/// Picks the one id among `candidates` (all ids starting with the prefix); none or several is an error.
pub fn resolve_prefix(prefix: &str, what: &'static str, candidates: &[Ulid]) -> Result<Ulid, DomainError> {
    match candidates {
        [] => Err(DomainError::UnknownId { what, prefix: prefix.to_string() }),
        [only] => Ok(*only),
        many => Err(DomainError::AmbiguousId {
            prefix: prefix.to_string(),
            candidates: many.iter().take(5).map(Ulid::to_string).collect(),
        }),
    }
}

/// The shortest prefix (at least [`MIN_PREFIX`]) that tells `id` apart from its sorted neighbours.
pub fn short_id(id: &Ulid, neighbours: &[Ulid]) -> String {
    let text = id.to_string();
    let shared = neighbours
        .iter()
        .filter(|other| *other != id)
        .map(|other| text.bytes().zip(other.to_string().bytes()).take_while(|(a, b)| a == b).count())
        .max()
        .unwrap_or(0);
    text[..(shared + 1).clamp(MIN_PREFIX, 26)].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_checked_and_upper_cased() {
        assert_eq!(normalize_prefix(" 01jbzz ").unwrap(), "01JBZZ");
        assert!(matches!(normalize_prefix("01JBZ"), Err(DomainError::BadId { .. })));
        assert!(matches!(normalize_prefix("01JBZZI"), Err(DomainError::BadId { .. })));
        assert!(matches!(normalize_prefix("01JBZZ-"), Err(DomainError::BadId { .. })));
    }

    #[test]
    fn resolution_needs_exactly_one_candidate() {
        let a: Ulid = "01JBZZZZZZZZZZZZZZZZZZZZZA".parse().unwrap();
        let b: Ulid = "01JBZZZZZZZZZZZZZZZZZZZZZB".parse().unwrap();
        assert_eq!(resolve_prefix("01JBZZ", "承诺", &[a]), Ok(a));
        assert!(matches!(resolve_prefix("01JBZZ", "承诺", &[]), Err(DomainError::UnknownId { .. })));
        let error = resolve_prefix("01JBZZ", "承诺", &[a, b]).unwrap_err();
        assert!(error.to_string().contains("01JBZZZZZZZZZZZZZZZZZZZZZA"), "{error}");
    }

    #[test]
    fn short_ids_grow_until_unique() {
        let a: Ulid = "01JBZZZZZZZZZZZZZZZZZZZZZA".parse().unwrap();
        let b: Ulid = "01JBZZZZZZZZZZZZZZZZZZZZZB".parse().unwrap();
        let c: Ulid = "01JC00000000000000000000000".get(..26).unwrap().parse().unwrap();
        assert_eq!(short_id(&a, &[a, b]), "01JBZZZZZZZZZZZZZZZZZZZZZA");
        assert_eq!(short_id(&c, &[a, c]), "01JC00");
        assert_eq!(short_id(&c, &[c]), "01JC00");
    }
}
