//! `api.socket_mode` and `api.socket_group`: who may open the socket file, in
//! the forms an operator writes them ("0660", a group name or a gid).

use super::{ApiConfig, ConfigError};

impl ApiConfig {
    /// The socket file's mode, from `api.socket_mode`.
    pub fn mode(&self) -> Result<u32, ConfigError> {
        parse_mode(&self.socket_mode)
    }

    /// The socket file's group, from `api.socket_group`; `None` keeps the daemon's.
    pub fn group_id(&self) -> Result<Option<u32>, ConfigError> {
        self.socket_group.as_deref().map(resolve_group).transpose()
    }
}

/// Octal text such as "0660" (also "660" or "0o660").
fn parse_mode(text: &str) -> Result<u32, ConfigError> {
    let key = "api.socket_mode";
    let digits = text.trim().trim_start_matches("0o");
    let mode = u32::from_str_radix(digits, 8)
        .ok()
        .filter(|m| *m <= 0o777 && !digits.is_empty())
        .ok_or_else(|| ConfigError::new(key, format!("{text:?} is not an octal file mode like \"0660\"")))?;
    // Also catches a TOML integer (`0o660` arrives as "432"): the owner would lose access.
    if mode & 0o600 != 0o600 {
        return Err(ConfigError::new(
            key,
            format!("{text:?} must let the owner read and write (write it quoted, like \"0660\")"),
        ));
    }
    Ok(mode)
}

/// A numeric gid, or a group name looked up through the system's name service
/// (`getgrnam_r`: /etc/group, and LDAP or sssd where NSS is set up for them).
fn resolve_group(group: &str) -> Result<u32, ConfigError> {
    let key = "api.socket_group";
    let group = group.trim();
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(group) {
        Ok(Some(found)) => Ok(found.gid.as_raw()),
        Ok(None) => Err(ConfigError::new(key, format!("no group named {group:?} (looked up with getgrnam)"))),
        Err(errno) => Err(ConfigError::new(key, format!("cannot look up the group {group:?}: {errno}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_text_and_keep_the_owner_in() {
        assert_eq!(parse_mode("0660").unwrap(), 0o660);
        assert_eq!(parse_mode("666").unwrap(), 0o666);
        assert_eq!(parse_mode("0o600").unwrap(), 0o600);
        for bad in ["", "0860", "rw-rw----", "01777", "0440", "432"] {
            let error = parse_mode(bad).expect_err(bad);
            assert_eq!(error.key, "api.socket_mode", "{bad}");
        }
    }

    #[test]
    fn groups_resolve_by_number_or_name() {
        assert_eq!(resolve_group("1234").unwrap(), 1234);
        assert_eq!(resolve_group("root").unwrap(), 0);
        assert_eq!(resolve_group(" root ").unwrap(), 0);
        assert_eq!(resolve_group("no-such-group-here").unwrap_err().key, "api.socket_group");
    }

    #[test]
    fn a_group_known_only_to_the_name_service_resolves_like_getgrnam() {
        // Whatever NSS answers (files, LDAP, sssd), resolution agrees with it.
        let nogroup = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(65534)).ok().flatten();
        if let Some(group) = nogroup {
            assert_eq!(resolve_group(&group.name).unwrap(), 65534);
        }
    }
}
