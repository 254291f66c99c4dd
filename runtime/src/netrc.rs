//! `.netrc` credentials, as requests and curl read them when `trust_env` is on: the file named
//! by `NETRC`, else `~/.netrc` (`~/_netrc` on Windows). Tokens are whitespace separated:
//! `machine <host> login <user> password <pw>`, `default` for any host, `macdef` blocks
//! skipped up to the next blank line.

use std::path::PathBuf;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Netrc {
    machines: Vec<(String, Entry)>,
    default: Option<Entry>,
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Entry {
    login: String,
    password: String,
}

impl Netrc {
    /// The file trust_env reads, parsed; None when there is none (or it cannot be read).
    pub fn from_env() -> Option<Netrc> {
        let path = match std::env::var_os("NETRC").filter(|p| !p.is_empty()) {
            Some(p) => PathBuf::from(p),
            None => {
                let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
                let name = if cfg!(windows) { "_netrc" } else { ".netrc" };
                PathBuf::from(home).join(name)
            }
        };
        let text = std::fs::read_to_string(path).ok()?;
        Some(Netrc::parse(&text))
    }

    pub fn parse(text: &str) -> Netrc {
        let mut out = Netrc::default();
        // (host or None for `default`, entry being filled)
        let mut current: Option<(Option<String>, Entry)> = None;
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let mut tokens = line.split_whitespace();
            while let Some(token) = tokens.next() {
                match token {
                    "machine" | "default" => {
                        out.finish(current.take());
                        let host = if token == "machine" { tokens.next().map(|h| h.to_ascii_lowercase()) } else { None };
                        if token == "machine" && host.is_none() {
                            continue;
                        }
                        current = Some((host, Entry::default()));
                    }
                    "login" | "password" | "account" => {
                        let value = tokens.next().unwrap_or("").to_owned();
                        if let Some((_, entry)) = &mut current {
                            match token {
                                "login" => entry.login = value,
                                "password" => entry.password = value,
                                _ => {}
                            }
                        }
                    }
                    "macdef" => {
                        // A macro runs to the next empty line; its body is not tokens.
                        for body in lines.by_ref() {
                            if body.trim().is_empty() {
                                break;
                            }
                        }
                        break;
                    }
                    t if t.starts_with('#') => break,
                    _ => {}
                }
            }
        }
        out.finish(current);
        out
    }

    fn finish(&mut self, entry: Option<(Option<String>, Entry)>) {
        match entry {
            Some((Some(host), e)) => self.machines.push((host, e)),
            Some((None, e)) => self.default = Some(e),
            None => {}
        }
    }

    /// `(login, password)` for `host`: its own `machine` entry (the first one), else `default`.
    pub fn lookup(&self, host: &str) -> Option<(String, String)> {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.machines
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, e)| e)
            .or(self.default.as_ref())
            .map(|e| (e.login.clone(), e.password.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_default_and_macros() {
        let n = Netrc::parse(
            "# comment\nmachine api.example login alice password s3cret\n\
             machine other.example\n  login bob\n  password pw\nmacdef init\nmachine evil login x password y\n\n\
             default login anon password guest\n",
        );
        assert_eq!(n.lookup("api.example"), Some(("alice".into(), "s3cret".into())));
        assert_eq!(n.lookup("OTHER.example"), Some(("bob".into(), "pw".into())));
        // The macro's body is not parsed as entries.
        assert_eq!(n.lookup("evil"), Some(("anon".into(), "guest".into())));
        assert_eq!(n.lookup("unknown"), Some(("anon".into(), "guest".into())));
    }

    #[test]
    fn no_default_no_match_and_garbage() {
        let n = Netrc::parse("machine a login u password p\nmachine");
        assert_eq!(n.lookup("a"), Some(("u".into(), "p".into())));
        assert_eq!(n.lookup("b"), None);
        assert_eq!(Netrc::parse("\u{0}\u{1} login password").lookup("x"), None);
    }
}
