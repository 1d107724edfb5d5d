//! Rust side of `webauthn.js`: runs a passkey ceremony in the browser with
//! options from the server, and answers the credential as JSON for it.
//! On the server these are never called (only event handlers use them).

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(module = "/src/ui/webauthn.js")]
    extern "C" {
        #[wasm_bindgen(js_name = createPasskey, catch)]
        pub async fn create_passkey(options: String) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(js_name = getPasskey, catch)]
        pub async fn get_passkey(options: String, conditional: bool) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(js_name = abortConditional)]
        pub fn abort_conditional();
        #[wasm_bindgen(js_name = conditionalMediationAvailable)]
        pub async fn conditional_mediation_available() -> JsValue;
    }
}

/// Why a ceremony did not complete, as a sentence (`None`: it was aborted
/// on purpose and nothing needs saying).
fn explain(name: &str) -> Option<String> {
    match name {
        "AbortError" => None,
        "NotAllowedError" => Some("The passkey request was cancelled or timed out.".into()),
        "InvalidStateError" => Some("This passkey is already registered here.".into()),
        "SecurityError" => {
            Some("Passkeys are not allowed on this address; use the site's public URL.".into())
        }
        "NotSupportedError" => Some("This browser or device does not support passkeys.".into()),
        other => Some(format!("The passkey request failed ({other}).")),
    }
}

pub enum CeremonyError {
    /// Aborted by us (another ceremony started): say nothing.
    Aborted,
    Failed(String),
}

#[cfg(feature = "hydrate")]
fn outcome(
    result: Result<wasm_bindgen::JsValue, wasm_bindgen::JsValue>,
) -> Result<String, CeremonyError> {
    match result {
        Ok(value) => value
            .as_string()
            .ok_or_else(|| CeremonyError::Failed("The browser returned no credential.".into())),
        Err(err) => {
            let name = err.as_string().unwrap_or_else(|| "UnknownError".into());
            Err(explain(&name).map_or(CeremonyError::Aborted, CeremonyError::Failed))
        }
    }
}

/// `navigator.credentials.create` with the server's creation options.
pub async fn create(options: String) -> Result<String, CeremonyError> {
    #[cfg(feature = "hydrate")]
    {
        outcome(js::create_passkey(options).await)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err(CeremonyError::Failed(
            explain("NotSupportedError").unwrap_or_default(),
        ))
    }
}

/// `navigator.credentials.get`; `conditional` waits on the autofill list.
pub async fn get(options: String, conditional: bool) -> Result<String, CeremonyError> {
    #[cfg(feature = "hydrate")]
    {
        outcome(js::get_passkey(options, conditional).await)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (options, conditional);
        Err(CeremonyError::Failed(
            explain("NotSupportedError").unwrap_or_default(),
        ))
    }
}

/// Whether the browser offers passkeys in the e-mail field's autofill.
pub async fn conditional_available() -> bool {
    #[cfg(feature = "hydrate")]
    {
        js::conditional_mediation_available()
            .await
            .as_bool()
            .unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

pub fn abort_conditional() {
    #[cfg(feature = "hydrate")]
    js::abort_conditional();
}
