//! Who the laptop acts as: the desktop sign-in (OAuth 2.0 code + PKCE with a loopback redirect),
//! the signed-in user's tokens and their refresh, the refresh token kept in the OS keychain, the
//! user named by the ID token, and the account (server, firm, user) a store belongs to.

mod account;
mod id_token;
mod loopback;
mod provider;
mod sign_in;
mod signed_in;
mod token_source;
mod token_store;

pub use account::{Account, normalize_server};
pub use id_token::SignedInUser;
pub use provider::{Revocation, SignInConfig};
pub use sign_in::{Restored, SignIn};
pub use signed_in::SignedIn;
pub use token_source::{StaticToken, TokenSource};
pub use token_store::{KeychainTokenStore, MemoryTokenStore, TokenStore};
