//! Server functions: each parses its input, calls one `core` function and
//! maps the result for the page. Grouped like `ui/`.

pub mod hosted;
