//! The one typed reader of function configuration. Every function's `Config::from_lookup` reads
//! its variables through an [`Env`] over a lookup function (the process environment in `main`,
//! a map in tests), so the rules are the same everywhere: a blank value counts as unset, and every
//! error names the variable. The names themselves are `contract::env`'s constants.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A variable the function needs is missing, or its value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "environment variable {name} is not set (the Terraform module sets it on the function)"
    )]
    Missing { name: String },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

impl ConfigError {
    /// The variable at fault.
    pub fn name(&self) -> &str {
        match self {
            ConfigError::Missing { name } | ConfigError::Invalid { name, .. } => name,
        }
    }
}

/// A function's configuration, read from its environment: implement [`FromEnv::read`], and
/// `main` calls `from_env`, tests `from_lookup` with a map.
pub trait FromEnv: Sized {
    fn read(env: &Env<impl Fn(&str) -> Option<String>>) -> Result<Self, ConfigError>;

    fn from_env() -> Result<Self, ConfigError> {
        Self::read(&process())
    }

    /// Same as [`FromEnv::from_env`] over any variable lookup (tests).
    fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::read(&Env::new(get))
    }
}

/// Variables by name, through a lookup function.
pub struct Env<F> {
    get: F,
}

/// The process environment (what `main` reads). A value that is not UTF-8 is reported as
/// invalid rather than taken as unset.
pub fn process() -> Env<impl Fn(&str) -> Option<String>> {
    Env::new(|name: &str| {
        std::env::var_os(name).map(|v| v.into_string().unwrap_or_else(|_| NOT_UNICODE.to_owned()))
    })
}

/// Stands for a non-UTF-8 value; no variable the functions read may contain NUL.
const NOT_UNICODE: &str = "\0not UTF-8";

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn new(get: F) -> Self {
        Env { get }
    }

    /// The value, `None` when unset or blank.
    fn value(&self, name: &str) -> Result<Option<String>, ConfigError> {
        match (self.get)(name) {
            Some(v) if v == NOT_UNICODE => Err(invalid(name, "not valid UTF-8")),
            Some(v) if !v.trim().is_empty() => Ok(Some(v)),
            _ => Ok(None),
        }
    }

    /// A variable that must be set and not blank.
    pub fn required(&self, name: &str) -> Result<String, ConfigError> {
        self.value(name)?.ok_or_else(|| ConfigError::Missing {
            name: name.to_owned(),
        })
    }

    /// A variable that may be unset (or blank).
    pub fn optional(&self, name: &str) -> Result<Option<String>, ConfigError> {
        self.value(name)
    }

    /// An optional value parsed as `T` (surrounding whitespace ignored), which must lie in
    /// `bounds`; `default` when unset.
    pub fn parse<T>(
        &self,
        name: &str,
        default: T,
        bounds: RangeInclusive<T>,
    ) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display,
    {
        let Some(raw) = self.value(name)? else {
            return Ok(default);
        };
        match raw.trim().parse::<T>() {
            Ok(v) if bounds.contains(&v) => Ok(v),
            _ => Err(invalid(
                name,
                format!(
                    "expected a whole number in {}..={}, got {raw:?}",
                    bounds.start(),
                    bounds.end()
                ),
            )),
        }
    }

    /// An optional `true`/`false` (any case); `default` when unset.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.value(name)?.as_deref().map(str::trim) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(v) => Err(invalid(name, format!("expected true or false, got {v:?}"))),
        }
    }
}

/// An [`ConfigError::Invalid`] for `name`.
pub fn invalid(name: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name: name.to_owned(),
        reason: reason.into(),
    }
}

/// Test helper: an [`Env`] over fixed pairs that records every name looked up, so a test can
/// check a loader reads exactly the variables the module sets.
pub struct Recorded {
    vars: Vec<(String, String)>,
    read: std::cell::RefCell<Vec<String>>,
}

impl Recorded {
    pub fn new(vars: &[(&str, &str)]) -> Self {
        Recorded {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            read: Default::default(),
        }
    }

    /// The lookup function for [`Env::new`] or a `Config::from_lookup`.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        |name: &str| {
            self.read.borrow_mut().push(name.to_owned());
            self.vars
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    /// The names looked up so far, sorted and without duplicates.
    pub fn read(&self) -> Vec<String> {
        let mut names = self.read.borrow().clone();
        names.sort();
        names.dedup();
        names
    }

    /// Test helper: loads `C` from `vars` and panics unless it read exactly the variables the
    /// module sets on `function` (`contract::env::keys`), except `LOG_LEVEL`, which
    /// `crate::aws::init_tracing` reads.
    pub fn assert_reads_module_keys<C: FromEnv>(
        function: contract::Function,
        vars: &[(&str, &str)],
    ) {
        let recorded = Recorded::new(vars);
        if let Err(e) = C::from_lookup(recorded.lookup()) {
            panic!("{}: config does not load: {e}", function.slug());
        }
        let mut expected: Vec<&str> = contract::env::keys(function)
            .iter()
            .copied()
            .filter(|k| *k != contract::env::LOG_LEVEL)
            .collect();
        expected.sort_unstable();
        assert_eq!(recorded.read(), expected, "{}", function.slug());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a Recorded) -> Env<impl Fn(&str) -> Option<String> + 'a> {
        Env::new(vars.lookup())
    }

    #[test]
    fn required_and_optional_treat_blank_as_unset() {
        let vars = Recorded::new(&[("A", "x"), ("B", "  ")]);
        let env = env(&vars);
        assert_eq!(env.required("A").unwrap(), "x");
        let e = env.required("B").unwrap_err();
        assert_eq!(e, ConfigError::Missing { name: "B".into() });
        assert!(e.to_string().contains("B is not set"), "{e}");
        assert_eq!(env.optional("B").unwrap(), None);
        assert_eq!(env.optional("C").unwrap(), None);
        assert_eq!(vars.read(), ["A", "B", "C"]);
    }

    #[test]
    fn parse_checks_bounds_and_names_the_variable() {
        let vars = Recorded::new(&[("N", " 7 "), ("BIG", "4000"), ("BAD", "lots")]);
        let env = env(&vars);
        assert_eq!(env.parse("N", 30u32, 1..=3650).unwrap(), 7);
        assert_eq!(env.parse("UNSET", 30u32, 1..=3650).unwrap(), 30);
        for name in ["BIG", "BAD"] {
            let e = env.parse(name, 30u32, 1..=3650).unwrap_err();
            assert_eq!(e.name(), name);
            assert!(e.to_string().contains("1..=3650"), "{e}");
        }
    }

    #[test]
    fn flags_are_true_or_false() {
        let vars = Recorded::new(&[("T", "TRUE"), ("F", "false"), ("X", "yes")]);
        let env = env(&vars);
        assert!(env.flag("T", false).unwrap());
        assert!(!env.flag("F", true).unwrap());
        assert!(env.flag("UNSET", true).unwrap());
        assert_eq!(env.flag("X", false).unwrap_err().name(), "X");
    }

    #[test]
    fn the_process_environment_reports_a_missing_variable() {
        let e = process()
            .required("METRICS_CORE_SURELY_UNSET_VARIABLE")
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("METRICS_CORE_SURELY_UNSET_VARIABLE is not set"),
            "{e}"
        );
    }
}
