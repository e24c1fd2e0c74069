//! `hoist repo add`'s credential flags to a repository's `auth`.
//!
//! Secrets never come from the command line itself, where `ps` and shell history show
//! them: an inline token or password is read from a file (`-` for standard input) or
//! from `HOIST_REPO_TOKEN` / `HOIST_REPO_PASSWORD`; or the repository names a Secret in
//! Hoist's namespace and holds no credential at all (the better choice).

use hoist_kube::types::{BasicAuth, BearerAuth, PackageRepositoryAuth, SecretKeyRef};

/// The credential flags as given (clap already refused conflicting combinations).
#[derive(Default, Clone)]
pub struct AuthFlags {
    /// A bearer token, read from `--token-file` or `HOIST_REPO_TOKEN`.
    pub token: Option<String>,
    /// `--token-secret SECRET:KEY`.
    pub token_secret: Option<SecretKeyRef>,
    /// `--basic-secret SECRET` (keys `username` and `password`).
    pub basic_secret: Option<String>,
    /// `--username`.
    pub username: Option<String>,
    /// Read from `--password-file` or `HOIST_REPO_PASSWORD`.
    pub password: Option<String>,
}

impl std::fmt::Debug for AuthFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFlags")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_secret", &self.token_secret)
            .field("basic_secret", &self.basic_secret)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("--username needs a password (--password-file FILE or HOIST_REPO_PASSWORD)")]
    UsernameWithoutPassword,
    #[error("a password needs --username")]
    PasswordWithoutUsername,
    #[error("the {0} is empty")]
    Empty(&'static str),
    #[error("cannot read the {what} from {path}: {reason}")]
    Unreadable {
        what: &'static str,
        path: String,
        reason: String,
    },
}

/// Reads a secret from `path` (`-`: standard input), without its surrounding
/// whitespace (a trailing newline from `echo` is not part of a token).
pub fn read_secret(what: &'static str, path: &str) -> Result<String, AuthError> {
    let text = if path == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(path)
    }
    .map_err(|e| AuthError::Unreadable {
        what,
        path: path.into(),
        reason: e.to_string(),
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Err(AuthError::Empty(what));
    }
    Ok(text.to_string())
}

/// The repository's `auth` for these flags; `None` for a public repository.
pub fn auth_from_flags(flags: AuthFlags) -> Result<Option<PackageRepositoryAuth>, AuthError> {
    let AuthFlags {
        token,
        token_secret,
        basic_secret,
        username,
        password,
    } = flags;
    if token.as_deref() == Some("") {
        return Err(AuthError::Empty("token"));
    }
    let bearer = |token, token_secret_ref| PackageRepositoryAuth {
        bearer: Some(BearerAuth {
            token,
            token_secret_ref,
        }),
        basic: None,
    };
    let basic = |b: BasicAuth| PackageRepositoryAuth {
        basic: Some(b),
        bearer: None,
    };
    Ok(
        match (token_secret, basic_secret, token, username, password) {
            (Some(r), _, _, _, _) => Some(bearer(None, Some(r))),
            (None, Some(secret), _, _, _) => {
                let r = |key: &str| {
                    Some(SecretKeyRef {
                        name: secret.clone(),
                        key: key.into(),
                    })
                };
                Some(basic(BasicAuth {
                    username_secret_ref: r("username"),
                    password_secret_ref: r("password"),
                    ..Default::default()
                }))
            }
            (None, None, Some(t), _, _) => Some(bearer(Some(t), None)),
            (None, None, None, Some(u), Some(p)) => Some(basic(BasicAuth {
                username: Some(u),
                password: Some(p),
                ..Default::default()
            })),
            (None, None, None, Some(_), None) => return Err(AuthError::UsernameWithoutPassword),
            (None, None, None, None, Some(_)) => return Err(AuthError::PasswordWithoutUsername),
            (None, None, None, None, None) => None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(name: &str, key: &str) -> Option<SecretKeyRef> {
        Some(SecretKeyRef {
            name: name.into(),
            key: key.into(),
        })
    }

    #[test]
    fn no_flags_is_a_public_repository() {
        assert_eq!(auth_from_flags(AuthFlags::default()), Ok(None));
    }

    #[test]
    fn a_token_secret_becomes_a_bearer_reference_and_holds_no_token() {
        let auth = auth_from_flags(AuthFlags {
            token_secret: secret("creds", "token"),
            ..Default::default()
        })
        .expect("valid")
        .expect("auth");
        let b = auth.bearer.expect("bearer");
        assert_eq!(b.token_secret_ref, secret("creds", "token"));
        assert_eq!(b.token, None);
        assert!(auth.basic.is_none());
    }

    #[test]
    fn a_basic_secret_references_its_username_and_password_keys() {
        let auth = auth_from_flags(AuthFlags {
            basic_secret: Some("creds".into()),
            ..Default::default()
        })
        .expect("valid")
        .expect("auth");
        let b = auth.basic.expect("basic");
        assert_eq!(b.username_secret_ref, secret("creds", "username"));
        assert_eq!(b.password_secret_ref, secret("creds", "password"));
        assert_eq!((b.username, b.password), (None, None));
    }

    #[test]
    fn an_inline_token_or_username_and_password_are_kept_inline() {
        let t = auth_from_flags(AuthFlags {
            token: Some("t0ken".into()),
            ..Default::default()
        })
        .expect("valid")
        .expect("auth");
        assert_eq!(t.bearer.and_then(|b| b.token).as_deref(), Some("t0ken"));
        let b = auth_from_flags(AuthFlags {
            username: Some("me".into()),
            password: Some("pw".into()),
            ..Default::default()
        })
        .expect("valid")
        .expect("auth")
        .basic
        .expect("basic");
        assert_eq!(
            (b.username.as_deref(), b.password.as_deref()),
            (Some("me"), Some("pw"))
        );
    }

    #[test]
    fn half_a_basic_pair_or_an_empty_token_is_refused() {
        let only_user = AuthFlags {
            username: Some("me".into()),
            ..Default::default()
        };
        assert_eq!(
            auth_from_flags(only_user),
            Err(AuthError::UsernameWithoutPassword)
        );
        let only_password = AuthFlags {
            password: Some("pw".into()),
            ..Default::default()
        };
        assert_eq!(
            auth_from_flags(only_password),
            Err(AuthError::PasswordWithoutUsername)
        );
        let empty = AuthFlags {
            token: Some(String::new()),
            ..Default::default()
        };
        assert_eq!(auth_from_flags(empty), Err(AuthError::Empty("token")));
    }

    #[test]
    fn a_secret_file_is_read_without_its_trailing_newline_and_never_debug_printed() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-token\n").expect("write");
        let token = read_secret("token", &path.display().to_string()).expect("read");
        assert_eq!(token, "s3cret-token");
        let flags = AuthFlags {
            token: Some(token),
            password: Some("hunter2".into()),
            ..Default::default()
        };
        let shown = format!("{flags:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("hunter2"),
            "{shown}"
        );
        assert!(matches!(
            read_secret("token", "/nonexistent/token"),
            Err(AuthError::Unreadable { .. })
        ));
    }
}
