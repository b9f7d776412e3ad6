//! Values written as strings with a shape: names, paths inside the wrapper,
//! command templates, addresses, `WIDTHxHEIGHT`, `Name <email>`, devices.

use std::fmt;
use std::path::{Component, Path};
use std::str::FromStr;

use super::string_value;

/// Placeholders a command template may use (besides `{param.NAME}`).
pub const PLACEHOLDERS: [&str; 9] = [
    "python",
    "root",
    "output_dir",
    "settings_json",
    "case",
    "model",
    "run_id",
    "module_path",
    "inputs_path",
];

/// Declares a newtype over `String` that displays as the string.
macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(pub String);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn non_empty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

text_newtype!(
    /// Any text but blank.
    NonEmpty
);
impl FromStr for NonEmpty {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        non_empty(s)?;
        Ok(NonEmpty(s.to_owned()))
    }
}
string_value!(NonEmpty, "a string");

text_newtype!(
    /// A name that becomes a folder name: letters, digits, `-`, `_`, `.`.
    Name
);
impl FromStr for Name {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        non_empty(s)?;
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "`{s}` may only hold letters, digits, `-`, `_` and `.` (it names folders)"
            ));
        }
        Ok(Name(s.to_owned()))
    }
}
string_value!(Name, "a name of letters, digits, `-`, `_` and `.`");

text_newtype!(
    /// A path relative to the wrapper root that stays inside it.
    RelativePath
);
impl FromStr for RelativePath {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        non_empty(s)?;
        let p = Path::new(s);
        if p.is_absolute() || p.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(format!(
                "`{s}` must be relative to the wrapper root and stay inside it"
            ));
        }
        Ok(RelativePath(s.to_owned()))
    }
}
string_value!(RelativePath, "a path relative to the wrapper root");

text_newtype!(
    /// A dotted Python module name, e.g. `wan.modules.vae`.
    ModuleName
);
impl FromStr for ModuleName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || c == '_'));
        if ok {
            Ok(ModuleName(s.to_owned()))
        } else {
            Err(format!("`{s}` is not a dotted Python module name"))
        }
    }
}
string_value!(ModuleName, "a dotted Python module name");

text_newtype!(
    /// A command line that splits into words (empty: off).
    ShellCommand
);
impl FromStr for ShellCommand {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        shell_words::split(s).map_err(|e| format!("cannot split into words: {e}"))?;
        Ok(ShellCommand(s.to_owned()))
    }
}
string_value!(ShellCommand, "a command line");

text_newtype!(
    /// A command template: splits into words and names only known
    /// placeholders ([`PLACEHOLDERS`] and `{param.NAME}`).
    Template
);
impl FromStr for Template {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        non_empty(s)?;
        shell_words::split(s).map_err(|e| format!("cannot split into words: {e}"))?;
        let unknown: Vec<String> = placeholders(s)
            .filter(|name| {
                !(PLACEHOLDERS.contains(name)
                    || name.strip_prefix("param.").is_some_and(|p| !p.is_empty()))
            })
            .map(|name| format!("`{{{name}}}`"))
            .collect();
        if unknown.is_empty() {
            return Ok(Template(s.to_owned()));
        }
        Err(format!(
            "unknown placeholder{} {} (known: {}, and {{param.NAME}})",
            if unknown.len() == 1 { "" } else { "s" },
            unknown.join(", "),
            PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
        ))
    }
}
string_value!(Template, "a command template");

/// The names between `{` and `}` in a template.
fn placeholders(s: &str) -> impl Iterator<Item = &str> {
    s.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| !name.contains('{'))
}

/// An http(s) URL that gets the service's notifications (a secret).
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(pub String);
impl FromStr for WebhookUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        non_empty(s)?;
        if !(s.starts_with("http://") || s.starts_with("https://")) {
            return Err("must be an http:// or https:// URL".into());
        }
        Ok(WebhookUrl(s.to_owned()))
    }
}
impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::redact::redact(&self.0))
    }
}
string_value!(WebhookUrl, "an http:// or https:// URL");

/// `Name <email>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}
impl FromStr for Author {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('<') {
            Some((name, rest)) if rest.ends_with('>') && !name.trim().is_empty() => Ok(Author {
                name: name.trim().to_owned(),
                email: rest.trim_end_matches('>').trim().to_owned(),
            }),
            _ => Err(format!("expected `Name <email>`, got `{s}`")),
        }
    }
}
impl fmt::Display for Author {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <{}>", self.name, self.email)
    }
}
string_value!(Author, "`Name <email>`");

/// `WIDTHxHEIGHT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolution(pub u32, pub u32);
impl FromStr for Resolution {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        parse_resolution(s)
            .map(|(w, h)| Resolution(w, h))
            .ok_or_else(|| format!("expected `WIDTHxHEIGHT`, got `{s}`"))
    }
}
impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.0, self.1)
    }
}
string_value!(Resolution, "`WIDTHxHEIGHT`");

/// Parses `WIDTHxHEIGHT` (also `W*H`, `WxH` with spaces).
pub fn parse_resolution(s: &str) -> Option<(u32, u32)> {
    let (w, h) = s.trim().split_once(['x', 'X', '*'])?;
    let (w, h) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0 && h > 0).then_some((w, h))
}

/// The status endpoint's address; `off` (or empty): none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Listen(pub Option<std::net::SocketAddr>);
impl FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "" | "off" => Ok(Listen(None)),
            a => a
                .parse()
                .map(|a| Listen(Some(a)))
                .map_err(|_| format!("`{a}` is not an address like `127.0.0.1:9477` (or `off`)")),
        }
    }
}
impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(a) => a.fmt(f),
            None => f.write_str("off"),
        }
    }
}
string_value!(Listen, "an address like `127.0.0.1:9477` or `off`");

/// Where the worker computes: `auto`, `cpu`, `cuda` or `cuda:N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device(pub crate::protocol::DeviceChoice);
impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        crate::protocol::DeviceChoice::parse(s)
            .map(Device)
            .ok_or_else(|| format!("`{s}` is not a device: `auto`, `cpu` or `cuda:N`"))
    }
}
impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.as_arg())
    }
}
string_value!(Device, "a device: `auto`, `cpu` or `cuda:N`");
