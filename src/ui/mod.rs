//! Pages and components. Hosted pages (per app, for end users) and console
//! pages (for operators) share the components.

pub mod components;
pub mod console;
pub mod hosted;
pub mod landing;
pub mod not_found;
pub mod passkey_bridge;
