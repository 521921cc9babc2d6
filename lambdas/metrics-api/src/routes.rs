//! The route table. It is data, not a match, so the OpenAPI test can compare
//! it with `docs/openapi.yaml` in both directions.

use crate::error::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    GetMetrics,
    PostMetrics,
    /// CORS preflight on a known path.
    Preflight,
}

/// One path, its methods (besides OPTIONS, which every path answers) and
/// the `Allow` header value for a 405.
pub struct PathSpec {
    pub path: &'static str,
    pub methods: &'static [(&'static str, Route)],
    pub allow: &'static str,
}

pub const ROUTES: &[PathSpec] = &[
    PathSpec {
        path: "/health",
        methods: &[("GET", Route::Health)],
        allow: "GET, OPTIONS",
    },
    PathSpec {
        path: "/metrics",
        methods: &[("GET", Route::GetMetrics), ("POST", Route::PostMetrics)],
        allow: "GET, POST, OPTIONS",
    },
];

/// Picks the route for a method and a normalised path.
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let spec = ROUTES
        .iter()
        .find(|s| s.path == path)
        .ok_or_else(|| ApiError::not_found(path))?;
    if method == "OPTIONS" {
        return Ok(Route::Preflight);
    }
    spec.methods
        .iter()
        .find(|(m, _)| *m == method)
        .map(|(_, r)| *r)
        .ok_or_else(|| ApiError::method_not_allowed(method, spec.allow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_methods_and_errors() {
        assert_eq!(route("GET", "/health"), Ok(Route::Health));
        assert_eq!(route("POST", "/metrics"), Ok(Route::PostMetrics));
        assert_eq!(route("OPTIONS", "/metrics"), Ok(Route::Preflight));
        assert_eq!(route("GET", "/nope").unwrap_err().status, 404);
        let e = route("DELETE", "/metrics").unwrap_err();
        assert_eq!((e.status, e.allow), (405, Some("GET, POST, OPTIONS")));
        assert_eq!(
            route("POST", "/health").unwrap_err().allow,
            Some("GET, OPTIONS")
        );
    }
}
