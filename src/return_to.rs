//! Where a page may send the browser next (`return_to`, post-sign-in
//! links, console return paths). One function, built for the server and the
//! browser alike, so a link rendered on the page and a redirect answered by
//! the server can never disagree: same-origin paths of the app only,
//! everything else falls back to the app's default page.

/// The console app's id (its pages live under `/console`).
const CONSOLE: &str = "console";

/// The page an app sends a signed-in user to when nothing (valid) was asked.
pub fn default_page(app_id: &str) -> String {
    if app_id == CONSOLE {
        "/console".to_owned()
    } else {
        format!("/a/{app_id}/account")
    }
}

/// `requested` when it is a path inside `app_id`'s pages (never another
/// app's, another site, a scheme such as `javascript:`, or a path that
/// climbs out with `..`), else the app's default page.
pub fn safe_return_to(app_id: &str, requested: Option<&str>) -> String {
    match requested {
        Some(path) if is_inside(app_id, path) => path.to_owned(),
        _ => default_page(app_id),
    }
}

fn is_inside(app_id: &str, path: &str) -> bool {
    let hosted = format!("/a/{app_id}/");
    let console_page = app_id == CONSOLE && (path == "/console" || path.starts_with("/console/"));
    let route = path.split(['?', '#']).next().unwrap_or_default();
    (path.starts_with(&hosted) || console_page)
        && !path.contains("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && !route
            .split('/')
            .any(|segment| segment == ".." || segment == ".")
        && !route.contains('%')
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn sign_in_returns_only_inside_the_app() {
        assert_eq!(
            safe_return_to("demo", Some("/a/demo/oauth/authorize?x=1&r=%2Fcb")),
            "/a/demo/oauth/authorize?x=1&r=%2Fcb"
        );
        for outside in [
            "/a/shop/account",
            "/console/audit",
            "https://evil.example/",
            "//evil.example/",
            "javascript:alert(document.domain)",
            " /a/demo/account",
            "/a/demo/../../console",
            "/a/demo/%2e%2e/x",
            "/a/demo/\\evil",
            "/a/demo/x\n",
        ] {
            assert_eq!(
                safe_return_to("demo", Some(outside)),
                "/a/demo/account",
                "{outside:?}"
            );
        }
        assert_eq!(safe_return_to("demo", None), "/a/demo/account");
    }

    #[test]
    fn the_console_sign_in_returns_to_console_pages() {
        assert_eq!(
            safe_return_to("console", Some("/console/audit?action=x")),
            "/console/audit?action=x"
        );
        assert_eq!(safe_return_to("console", Some("/console")), "/console");
        assert_eq!(
            safe_return_to("console", Some("/a/console/account")),
            "/a/console/account"
        );
        assert_eq!(safe_return_to("console", Some("/consolation")), "/console");
        assert_eq!(
            safe_return_to("console", Some("/console//evil.example")),
            "/console"
        );
        assert_eq!(
            safe_return_to("console", Some("javascript:alert(1)")),
            "/console"
        );
        assert_eq!(safe_return_to("console", None), "/console");
    }
}
