//! Core of the practice video service: rooms bound to one day, join links,
//! the participant limit, the signaling state machine, the storage ports with
//! their adapters, and the HTTP router served both locally and on Lambda.

#[cfg(feature = "aws-sdk-config")]
pub mod aws_sdk;
pub mod clock;
pub mod env;
pub mod http;
pub mod invitation;
pub mod link;
pub mod logging;
pub mod mail;
pub mod morning;
pub mod privacy;
pub mod private_files;
pub mod random;
pub mod room;
pub mod signaling;
pub mod store;
pub mod turn;
pub mod validity;
pub mod zone;
