//! Components shared by hosted and console pages.

pub mod form;
pub mod frame;
pub mod widgets;

pub use form::{Field, FormError, Spinner, SubmitButton, Tone, action_error, button_class};
pub use frame::{Card, HostedFrame, Logo, Notice};
pub use widgets::{
    Badge, Checkbox, ConfirmDialog, EmptyState, PageHeader, SMALL_BUTTON, SMALL_DANGER_BUTTON,
    Select, SmallSubmit, TextArea,
};
