//! `log.level`, checked strictly. tracing's filter syntax takes a bare word as
//! a *target*: `level = "verbose"` parses, means "everything from target
//! `verbose`", and silences the daemon. So each comma-separated directive must
//! be a level (`info`), or `target=level` / `target[span]=level`.

const LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

/// `Ok` when every directive of `filter` names a level; else what is wrong with the first that does not.
pub fn check(filter: &str) -> Result<(), String> {
    if filter.trim().is_empty() {
        return Err(format!("must not be empty; one of {}", LEVELS.join(", ")));
    }
    for directive in filter.split(',').map(str::trim) {
        let level = match directive.rsplit_once('=') {
            Some((target, level)) if !target.trim().is_empty() => level.trim(),
            Some(_) => return Err(format!("{directive:?}: a directive `target=level` needs its target")),
            None => directive,
        };
        if !LEVELS.iter().any(|l| l.eq_ignore_ascii_case(level)) {
            return Err(format!(
                "{directive:?}: not a level; use one of {} (or `target=level`, e.g. \"info,webex_hitl=debug\")",
                LEVELS.join(", ")
            ));
        }
    }
    tracing_subscriber::EnvFilter::try_new(filter).map(drop).map_err(|e| format!("not a valid filter ({e})"))
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn levels_and_targeted_levels_pass() {
        for ok in ["info", "WARN", "off", "info,webex_hitl=debug", "webex_hitl::webex=trace", "h2[conn]=warn"] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_bare_word_or_an_unknown_level_is_refused_naming_it() {
        for (bad, named) in
            [("verbose", "verbose"), ("info,chatty", "chatty"), ("webex_hitl=loud", "loud"), ("=info", "=info")]
        {
            let error = check(bad).unwrap_err();
            assert!(error.contains(named), "{bad}: {error}");
        }
        assert!(check(" ").is_err());
    }
}
