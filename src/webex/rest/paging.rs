//! Following Webex list pages through the `Link: <url>; rel="next"` header.
//!
//! Webex has been seen dropping our own query parameters (`type`, `max`, …)
//! from its `next` links, which silently widens or shrinks a listing; so the
//! parameters we asked for are re-added when missing. A `next` link to another
//! host is refused: following it would hand the bot token to that host.

use reqwest::header::{HeaderMap, LINK};
use reqwest::Url;

/// The URL of every `Link` entry whose `rel` contains `rel` (case-insensitive),
/// in header order, across all `Link` headers.
pub fn link_targets(headers: &HeaderMap, rel: &str) -> Vec<String> {
    headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .filter(|(_, rels)| rels.iter().any(|r| r.eq_ignore_ascii_case(rel)))
        .map(|(url, _)| url)
        .collect()
}

/// Splits one `Link` header value into `(url, rels)` pairs. Tolerates spaces,
/// quoted or bare `rel`, several rels per entry, and commas inside `<…>`.
pub fn parse_link_header(value: &str) -> Vec<(String, Vec<String>)> {
    let mut entries = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let Some(close) = rest[open..].find('>').map(|i| open + i) else {
            break;
        };
        let url = rest[open + 1..close].trim().to_string();
        let after = &rest[close + 1..];
        // Parameters run until the next entry starts.
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        entries.push((url, rels_of(params)));
        rest = &after[params_end..];
    }
    entries
}

fn rels_of(params: &str) -> Vec<String> {
    params
        .split([';', ','])
        .filter_map(|p| {
            let (key, value) = p.split_once('=')?;
            key.trim().eq_ignore_ascii_case("rel").then(|| value.trim().trim_matches('"').to_string())
        })
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Adds each of `ours` whose key `next` lacks (keys `next` has are left as is).
pub fn readd_params(next: &mut Url, ours: &[(String, String)]) {
    let present: Vec<String> = next.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let missing: Vec<&(String, String)> = ours.iter().filter(|(k, _)| !present.iter().any(|p| p == k)).collect();
    if missing.is_empty() {
        return;
    }
    let mut pairs = next.query_pairs_mut();
    for (k, v) in missing {
        pairs.append_pair(k, v);
    }
}

/// The next page to fetch after `current`, resolved against it, with our own
/// parameters re-added. `Err` names a link that may not be followed.
pub fn next_page_url(headers: &HeaderMap, current: &Url, ours: &[(String, String)]) -> Result<Option<Url>, String> {
    let Some(target) = link_targets(headers, "next").into_iter().next() else {
        return Ok(None);
    };
    let mut next = current.join(&target).map_err(|e| format!("unreadable next link {target:?}: {e}"))?;
    if next.origin() != current.origin() {
        return Err(format!("next link {target:?} leaves {}", current.origin().ascii_serialization()));
    }
    readd_params(&mut next, ours);
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(LINK, HeaderValue::from_str(v).expect("header"));
        }
        map
    }

    #[test]
    fn parses_several_rels_quotes_and_spaces() {
        let value = r#"<https://x/v1/rooms?cursor=a,b>; rel="next" , <https://x/v1/rooms?c=0>;rel=first,< https://x/v1/rooms?c=9 > ; title="z"; REL="prev last""#;
        let entries = parse_link_header(value);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0], ("https://x/v1/rooms?cursor=a,b".into(), vec!["next".into()]));
        assert_eq!(entries[1].1, vec!["first".to_string()]);
        assert_eq!(entries[2].0, "https://x/v1/rooms?c=9");
        assert_eq!(entries[2].1, vec!["prev".to_string(), "last".to_string()]);
    }

    #[test]
    fn finds_next_across_several_headers() {
        let map = headers(&[r#"<https://x/a>; rel="prev""#, r#"<https://x/b>; rel="Next""#]);
        assert_eq!(link_targets(&map, "next"), vec!["https://x/b".to_string()]);
        assert!(link_targets(&headers(&["garbage"]), "next").is_empty());
        assert!(link_targets(&headers(&["<unterminated; rel=next"]), "next").is_empty());
    }

    fn ours() -> Vec<(String, String)> {
        vec![("type".into(), "group".into()), ("max".into(), "1000".into())]
    }

    #[test]
    fn dropped_params_are_readded_and_kept_ones_untouched() {
        let mut next = Url::parse("https://x/v1/rooms?cursor=abc&max=50").expect("url");
        readd_params(&mut next, &ours());
        let pairs: Vec<(String, String)> = next.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![("cursor".into(), "abc".into()), ("max".into(), "50".into()), ("type".into(), "group".into()),]
        );
    }

    #[test]
    fn next_page_is_resolved_and_confined_to_our_host() {
        let current = Url::parse("http://127.0.0.1:9/v1/rooms?type=group&max=1000").expect("url");
        let map = headers(&[r#"</v1/rooms?cursor=2>; rel="next""#]);
        let next = next_page_url(&map, &current, &ours()).expect("ok").expect("some");
        assert_eq!(next.as_str(), "http://127.0.0.1:9/v1/rooms?cursor=2&type=group&max=1000");
        let foreign = headers(&[r#"<https://evil.example/v1/rooms>; rel="next""#]);
        assert!(next_page_url(&foreign, &current, &ours()).is_err());
        assert_eq!(next_page_url(&HeaderMap::new(), &current, &ours()), Ok(None));
    }
}
