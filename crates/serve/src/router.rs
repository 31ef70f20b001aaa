//! Routing by path prefix: each route is a prefix (`/api`) and a handler;
//! the longest prefix that matches whole path segments wins (`/api`
//! matches `/api` and `/api/x`, not `/apix`), and the root route `/`
//! matches everything. The matched prefix becomes CGI's `SCRIPT_NAME`, the
//! rest of the path `PATH_INFO`.

use std::sync::Arc;

use anyhow::{Result, bail};

use crate::handler::Handler;

/// Handlers by path prefix.
#[derive(Clone, Default)]
pub struct Router {
    /// (prefix without a trailing `/`, so `""` for the root; handler),
    /// longest prefix first.
    routes: Vec<(String, Arc<dyn Handler>)>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let prefixes: Vec<&str> = self.routes.iter().map(|(p, _)| p.as_str()).collect();
        f.debug_struct("Router")
            .field("prefixes", &prefixes)
            .finish()
    }
}

impl Router {
    /// No routes: every request is a 404.
    pub fn new() -> Router {
        Router::default()
    }

    /// Adds a route. `prefix` must start with `/`; a trailing `/` is
    /// ignored (`/api/` is `/api`). Two routes with the same prefix are an
    /// error.
    pub fn route(&mut self, prefix: &str, handler: Arc<dyn Handler>) -> Result<&mut Router> {
        if !prefix.starts_with('/') {
            bail!("route `{prefix}` must start with `/`");
        }
        if prefix.contains(['?', '#']) {
            bail!("route `{prefix}` must be a path, without `?` or `#`");
        }
        let prefix = prefix.trim_end_matches('/').to_string();
        if self.routes.iter().any(|(p, _)| *p == prefix) {
            let shown = if prefix.is_empty() { "/" } else { &prefix };
            bail!("route `{shown}` is given twice");
        }
        self.routes.push((prefix, handler));
        self.routes.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        Ok(self)
    }

    /// The routes' prefixes, longest first (`/` for the root route).
    pub fn prefixes(&self) -> Vec<&str> {
        self.routes
            .iter()
            .map(|(p, _)| if p.is_empty() { "/" } else { p.as_str() })
            .collect()
    }

    /// Whether there is no route.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The handler for `path`, with the matched prefix and the rest.
    pub fn find<'p>(&self, path: &'p str) -> Option<(&Arc<dyn Handler>, &'p str, &'p str)> {
        self.routes.iter().find_map(|(prefix, handler)| {
            let rest = path.strip_prefix(prefix.as_str())?;
            (rest.is_empty() || rest.starts_with('/'))
                .then(|| (handler, &path[..prefix.len()], rest))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{HandlerError, Request, ResponseSink};

    struct Named;
    impl Handler for Named {
        fn handle(&self, _: Request, _: &mut ResponseSink) -> Result<(), HandlerError> {
            Ok(())
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut r = Router::new();
        r.route("/", Arc::new(Named)).unwrap();
        r.route("/api", Arc::new(Named)).unwrap();
        r.route("/api/v2/", Arc::new(Named)).unwrap();
        let m = |p: &'static str| r.find(p).map(|(_, a, b)| (a, b));
        assert_eq!(m("/"), Some(("", "/")));
        assert_eq!(m("/x/y"), Some(("", "/x/y")));
        assert_eq!(m("/api"), Some(("/api", "")));
        assert_eq!(m("/api/x"), Some(("/api", "/x")));
        assert_eq!(m("/apix"), Some(("", "/apix")));
        assert_eq!(m("/api/v2"), Some(("/api/v2", "")));
        assert_eq!(m("/api/v2/a"), Some(("/api/v2", "/a")));
        assert_eq!(r.prefixes(), ["/api/v2", "/api", "/"]);
        let mut r = Router::new();
        r.route("/only", Arc::new(Named)).unwrap();
        assert!(r.find("/other").is_none());
    }

    #[test]
    fn bad_routes() {
        let mut r = Router::new();
        assert!(r.route("api", Arc::new(Named)).is_err());
        assert!(r.route("/a?b", Arc::new(Named)).is_err());
        r.route("/a", Arc::new(Named)).unwrap();
        let e = r.route("/a/", Arc::new(Named)).err().unwrap().to_string();
        assert!(e.contains("twice"), "{e}");
    }
}
