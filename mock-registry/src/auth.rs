//! Who may do what: no auth, HTTP Basic, or Docker Hub's token flow.
//!
//! In the token flow the registry answers an anonymous request with
//! `401` and a challenge naming a token service (the realm) and the scope the
//! request needs. The client asks the realm for a token for that scope
//! (anonymously, or with Basic credentials) and repeats the request with
//! `Authorization: Bearer <token>`.

use base64::Engine as _;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The `service` the token challenge names.
pub const SERVICE: &str = "mock-registry";

/// How the registry authenticates clients.
#[derive(Clone, Debug, Default)]
pub enum Auth {
    /// Anyone may pull and push.
    #[default]
    None,
    /// Docker Hub's Bearer token flow with a `/token` realm.
    Token(TokenAuth),
    /// HTTP Basic credentials on every request.
    Basic(Users),
}

/// Settings of the token flow.
#[derive(Clone, Debug)]
pub struct TokenAuth {
    pub users: Users,
    /// Whether a token fetched without credentials may pull (Docker Hub: yes).
    pub anonymous_pull: bool,
    /// Lifetime of a token, sent as `expires_in`.
    pub expires_in: Duration,
    /// Identity tokens (OAuth2 refresh tokens, what credential helpers may
    /// keep instead of a password), each standing for a user: the realm
    /// takes them in a `POST` with `grant_type=refresh_token`.
    pub identity_tokens: HashMap<String, String>,
}

/// User names and their passwords.
#[derive(Clone, Debug, Default)]
pub struct Users(HashMap<String, String>);

impl Users {
    pub fn one(user: &str, password: &str) -> Users {
        Users(HashMap::from([(user.to_string(), password.to_string())]))
    }

    fn check(&self, user: &str, password: &str) -> bool {
        self.0.get(user).is_some_and(|p| p == password)
    }
}

impl Auth {
    /// The token flow as Docker Hub runs it: anonymous pulls, push with credentials,
    /// tokens that live five minutes.
    pub fn token(user: &str, password: &str) -> Auth {
        Auth::Token(TokenAuth {
            users: Users::one(user, password),
            anonymous_pull: true,
            expires_in: Duration::from_secs(300),
            identity_tokens: HashMap::new(),
        })
    }

    /// The same auth, where `token` is also an identity token of `user`
    /// (the token flow only; other kinds are returned unchanged).
    pub fn with_identity_token(self, user: &str, token: &str) -> Auth {
        match self {
            Auth::Token(mut settings) => {
                settings
                    .identity_tokens
                    .insert(token.to_string(), user.to_string());
                Auth::Token(settings)
            }
            other => other,
        }
    }

    /// Basic credentials required for everything.
    pub fn basic(user: &str, password: &str) -> Auth {
        Auth::Basic(Users::one(user, password))
    }
}

/// What a request wants to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// `repository:library/hello`, `registry:catalog`, or empty for `/v2/`.
    pub resource: String,
    pub action: Action,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Pull,
    Push,
}

impl Access {
    pub fn repository(name: &str, action: Action) -> Access {
        Access {
            resource: format!("repository:{name}"),
            action,
        }
    }

    /// The scope a challenge names for this access.
    fn scope(&self) -> Option<String> {
        match (self.resource.as_str(), self.action) {
            ("", _) => None,
            ("registry:catalog", _) => Some("registry:catalog:*".into()),
            (resource, Action::Pull) => Some(format!("{resource}:pull")),
            (resource, Action::Push) => Some(format!("{resource}:pull,push")),
        }
    }
}

/// Why a request was refused: the `WWW-Authenticate` value to send with the 401.
#[derive(Debug)]
pub struct Challenge(pub String);

/// A token the realm handed out.
struct Grant {
    /// `resource` → actions granted (`pull`, `push`, `*`).
    scopes: HashMap<String, Vec<String>>,
    expires: Instant,
}

/// The tokens handed out so far.
#[derive(Default)]
pub struct Tokens {
    grants: Mutex<HashMap<String, Grant>>,
    counter: AtomicU64,
}

/// The answer of the token realm.
pub enum TokenAnswer {
    Issued { token: String, expires_in: u64 },
    BadCredentials,
}

impl Tokens {
    /// Handles `GET /token?service=..&scope=..`: grants what the credentials allow.
    /// Like Docker Hub, it grants a smaller scope rather than refusing, and the
    /// registry then refuses what the token does not cover.
    pub fn issue(
        &self,
        auth: &TokenAuth,
        basic: Option<(String, String)>,
        scopes: &[String],
    ) -> TokenAnswer {
        let user = match basic {
            Some((user, password)) if auth.users.check(&user, &password) => Some(user),
            Some(_) => return TokenAnswer::BadCredentials,
            None => None,
        };
        self.grant(auth, user, scopes)
    }

    /// Handles the OAuth2 `POST /token` with `grant_type=refresh_token`:
    /// grants what the user the identity token stands for may do.
    pub fn issue_for_identity(
        &self,
        auth: &TokenAuth,
        identity_token: &str,
        scopes: &[String],
    ) -> TokenAnswer {
        match auth.identity_tokens.get(identity_token) {
            Some(user) => self.grant(auth, Some(user.clone()), scopes),
            None => TokenAnswer::BadCredentials,
        }
    }

    /// A new token for what `user` (anonymous when `None`) may do of `scopes`.
    fn grant(&self, auth: &TokenAuth, user: Option<String>, scopes: &[String]) -> TokenAnswer {
        let mut granted: HashMap<String, Vec<String>> = HashMap::new();
        for scope in scopes.iter().flat_map(|s| s.split(' ')) {
            let Some((resource, actions)) = scope.rsplit_once(':') else {
                continue;
            };
            let allowed: Vec<String> = actions
                .split(',')
                .filter(|action| match (*action, &user) {
                    (_, Some(_)) => true,
                    ("pull", None) => auth.anonymous_pull && resource.starts_with("repository:"),
                    _ => false,
                })
                .map(str::to_string)
                .collect();
            granted
                .entry(resource.to_string())
                .or_default()
                .extend(allowed);
        }
        let token = self.new_token();
        self.grants.lock().unwrap().insert(
            token.clone(),
            Grant {
                scopes: granted,
                expires: Instant::now() + auth.expires_in,
            },
        );
        TokenAnswer::Issued {
            token,
            expires_in: auth.expires_in.as_secs(),
        }
    }

    /// Opaque and unguessable enough for a test registry.
    fn new_token(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let random = RandomState::new().hash_one(n);
        let mut token = String::from("mock.");
        write!(token, "{n:x}.{random:016x}").unwrap();
        token
    }

    /// Makes every token handed out so far expire now.
    pub fn expire_all(&self) {
        let now = Instant::now();
        for grant in self.grants.lock().unwrap().values_mut() {
            grant.expires = now;
        }
    }

    fn allows(&self, token: &str, access: &Access) -> bool {
        let grants = self.grants.lock().unwrap();
        let Some(grant) = grants.get(token) else {
            return false;
        };
        if Instant::now() >= grant.expires {
            return false;
        }
        if access.resource.is_empty() {
            return true;
        }
        let wanted = match access.action {
            Action::Pull => "pull",
            Action::Push => "push",
        };
        grant
            .scopes
            .get(&access.resource)
            .is_some_and(|actions| actions.iter().any(|a| a == wanted || a == "*"))
    }
}

/// Decodes `Authorization: Basic base64(user:password)`.
pub fn basic_credentials(header: Option<&str>) -> Option<(String, String)> {
    let encoded = header?.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Decides whether a request with this `Authorization` header may do `access`.
pub fn authorize(
    auth: &Auth,
    tokens: &Tokens,
    authorization: Option<&str>,
    access: &Access,
    realm: &str,
) -> Result<(), Challenge> {
    match auth {
        Auth::None => Ok(()),
        Auth::Basic(users) => match basic_credentials(authorization) {
            Some((user, password)) if users.check(&user, &password) => Ok(()),
            _ => Err(Challenge(format!("Basic realm=\"{SERVICE}\""))),
        },
        Auth::Token(_) => {
            let token = authorization.and_then(|h| h.strip_prefix("Bearer "));
            if token.is_some_and(|t| tokens.allows(t.trim(), access)) {
                return Ok(());
            }
            let mut challenge = format!("Bearer realm=\"{realm}\",service=\"{SERVICE}\"");
            if let Some(scope) = access.scope() {
                write!(challenge, ",scope=\"{scope}\"").unwrap();
            }
            if token.is_some() {
                challenge.push_str(",error=\"insufficient_scope\"");
            }
            Err(Challenge(challenge))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_auth() -> TokenAuth {
        match Auth::token("learner", "secret") {
            Auth::Token(t) => t,
            _ => unreachable!(),
        }
    }

    fn issued(answer: TokenAnswer) -> String {
        match answer {
            TokenAnswer::Issued { token, .. } => token,
            TokenAnswer::BadCredentials => panic!("credentials were refused"),
        }
    }

    #[test]
    fn anonymous_tokens_pull_but_never_push() {
        let tokens = Tokens::default();
        let auth = token_auth();
        let token = issued(tokens.issue(&auth, None, &["repository:a/b:pull,push".into()]));
        assert!(tokens.allows(&token, &Access::repository("a/b", Action::Pull)));
        assert!(!tokens.allows(&token, &Access::repository("a/b", Action::Push)));
        assert!(!tokens.allows(&token, &Access::repository("other", Action::Pull)));
    }

    #[test]
    fn credentials_give_push_and_wrong_ones_are_refused() {
        let tokens = Tokens::default();
        let auth = token_auth();
        let creds = Some(("learner".to_string(), "secret".to_string()));
        let token = issued(tokens.issue(&auth, creds, &["repository:a/b:pull,push".into()]));
        assert!(tokens.allows(&token, &Access::repository("a/b", Action::Push)));
        let wrong = Some(("learner".to_string(), "guess".to_string()));
        assert!(matches!(
            tokens.issue(&auth, wrong, &[]),
            TokenAnswer::BadCredentials
        ));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let tokens = Tokens::default();
        let token = issued(tokens.issue(&token_auth(), None, &["repository:a:pull".into()]));
        tokens.expire_all();
        assert!(!tokens.allows(&token, &Access::repository("a", Action::Pull)));
    }

    #[test]
    fn challenges_name_realm_service_and_scope() {
        let auth = Auth::token("u", "p");
        let refused = authorize(
            &auth,
            &Tokens::default(),
            None,
            &Access::repository("library/hello", Action::Push),
            "http://127.0.0.1:5000/token",
        )
        .unwrap_err();
        assert_eq!(
            refused.0,
            r#"Bearer realm="http://127.0.0.1:5000/token",service="mock-registry",scope="repository:library/hello:pull,push""#
        );
    }

    #[test]
    fn basic_auth_checks_every_request() {
        let auth = Auth::basic("u", "p");
        let tokens = Tokens::default();
        let access = Access::repository("a", Action::Pull);
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("u:p")
        );
        assert!(authorize(&auth, &tokens, Some(&header), &access, "").is_ok());
        let refused = authorize(&auth, &tokens, None, &access, "").unwrap_err();
        assert_eq!(refused.0, r#"Basic realm="mock-registry""#);
    }
}
