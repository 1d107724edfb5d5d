//! Components shared by hosted and console pages.

pub mod frame;

pub use frame::{Card, HostedFrame, Logo, Notice};
