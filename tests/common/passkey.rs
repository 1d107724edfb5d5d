//! A person's passkey device for tests: a software authenticator
//! (webauthn-authenticator-rs) and the credential it made.
//!
//! The software passkey cannot store resident keys, so the device names its
//! credential in the assertion options and puts the user handle into the
//! response itself, as a discoverable authenticator would (the handle is not
//! covered by the signature; the server checks it against its records).

use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// A person's passkey device: one software authenticator and what it made.
pub struct Device {
    authenticator: WebauthnAuthenticator<SoftPasskey>,
    pub credential_id: Option<String>,
    pub user_handle: Option<Vec<u8>>,
}

impl Device {
    pub fn new() -> Self {
        Self {
            // true: the authenticator reports user verification.
            authenticator: WebauthnAuthenticator::new(SoftPasskey::new(true)),
            credential_id: None,
            user_handle: None,
        }
    }

    /// Answer creation options from the server.
    pub fn create(&mut self, origin: &str, options: &str) -> String {
        let mut options: Value = serde_json::from_str(options).unwrap();
        assert_eq!(
            options["publicKey"]["authenticatorSelection"]["residentKey"],
            "required"
        );
        assert_eq!(
            options["publicKey"]["authenticatorSelection"]["userVerification"],
            "required"
        );
        // See the module comment: this authenticator keeps no resident keys.
        options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("discouraged");
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(false);
        let user_id = options["publicKey"]["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let options: CreationChallengeResponse = serde_json::from_value(options).unwrap();
        let credential = self
            .authenticator
            .do_registration(Url::parse(origin).unwrap(), options)
            .expect("the software passkey registers");
        let json = serde_json::to_value(&credential).unwrap();
        self.credential_id = Some(json["rawId"].as_str().unwrap().to_owned());
        use base64::Engine;
        self.user_handle = Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(user_id)
                .unwrap(),
        );
        json.to_string()
    }

    /// Answer assertion options from the server.
    pub fn get(&mut self, origin: &str, options: &str) -> String {
        let mut options: Value = serde_json::from_str(options).unwrap();
        assert_eq!(options["publicKey"]["userVerification"], "required");
        assert_eq!(
            options["publicKey"]["allowCredentials"],
            json!([]),
            "discoverable: no user named"
        );
        options["publicKey"]["allowCredentials"] = json!([{ "type": "public-key", "id": self.credential_id.clone().expect("a registered passkey") }]);
        let options: RequestChallengeResponse = serde_json::from_value(options).unwrap();
        let mut credential = self
            .authenticator
            .do_authentication(Url::parse(origin).unwrap(), options)
            .expect("the software passkey signs");
        credential.response.user_handle = self.user_handle.clone().map(Into::into);
        serde_json::to_string(&credential).unwrap()
    }
}
