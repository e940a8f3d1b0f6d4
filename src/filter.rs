//! Pre-filters: which paths and contents are not worth parsing, each skip with its reason.

use std::fmt;

use globset::{Glob, GlobSet, GlobSetBuilder};

/// Why a file was not parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A path under `node_modules/`, `vendor/`, `dist/`, `build/` or `bower_components/`.
    Vendored,
    /// Matched an `--exclude` glob, or missed every `--include` glob.
    Excluded,
    TooLarge,
    /// A NUL byte in the first 8 KiB.
    Binary,
    Minified,
}

impl SkipReason {
    pub const ALL: [SkipReason; 5] = [
        SkipReason::Vendored,
        SkipReason::Excluded,
        SkipReason::TooLarge,
        SkipReason::Binary,
        SkipReason::Minified,
    ];

    /// The reason a stored name gives, if it is one.
    pub fn from_name(name: &str) -> Option<SkipReason> {
        SkipReason::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            SkipReason::Vendored => "vendored",
            SkipReason::Excluded => "excluded",
            SkipReason::TooLarge => "too-large",
            SkipReason::Binary => "binary",
            SkipReason::Minified => "minified",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const VENDORED_DIRS: [&str; 5] = [
    "node_modules",
    "vendor",
    "dist",
    "build",
    "bower_components",
];
const BINARY_PROBE: usize = 8 * 1024;

#[derive(Debug, Clone)]
pub struct FilterOptions {
    pub max_bytes: u64,
    /// Average line length above which a file counts as minified.
    pub max_avg_line: usize,
    /// Longest line above which a file counts as minified.
    pub max_line: usize,
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    /// Keep the vendored-directory rule (on by default).
    pub skip_vendored: bool,
}

impl Default for FilterOptions {
    fn default() -> Self {
        FilterOptions {
            max_bytes: 5 * 1024 * 1024,
            max_avg_line: 300,
            max_line: 5_000,
            include: Vec::new(),
            exclude: Vec::new(),
            skip_vendored: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("bad glob `{glob}`: {message}")]
pub struct GlobError {
    glob: String,
    message: String,
}

/// Compiled filters.
#[derive(Debug, Clone)]
pub struct Filter {
    options: FilterOptions,
    include: Option<GlobSet>,
    exclude: GlobSet,
}

fn build_set(globs: &[String]) -> Result<GlobSet, GlobError> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        let compiled = Glob::new(glob).map_err(|e| GlobError {
            glob: glob.clone(),
            message: e.kind().to_string(),
        })?;
        builder.add(compiled);
    }
    builder.build().map_err(|e| GlobError {
        glob: globs.join(" "),
        message: e.to_string(),
    })
}

impl Filter {
    /// A short fingerprint of every option that decides which paths and contents count, so that
    /// a history analysed under other filters is another analysis, never mixed with this one.
    pub fn key(&self) -> String {
        let o = &self.options;
        let text = serde_json::json!({
            "max_bytes": o.max_bytes,
            "max_avg_line": o.max_avg_line,
            "max_line": o.max_line,
            "include": o.include,
            "exclude": o.exclude,
            "skip_vendored": o.skip_vendored,
        })
        .to_string();
        crate::analyze::sha256_hex(text.as_bytes())[..16].to_string()
    }

    pub fn new(options: FilterOptions) -> Result<Filter, GlobError> {
        let include = if options.include.is_empty() {
            None
        } else {
            Some(build_set(&options.include)?)
        };
        let exclude = build_set(&options.exclude)?;
        Ok(Filter {
            options,
            include,
            exclude,
        })
    }

    /// Path rules, for a `/`-separated path relative to the scanned root or the repository.
    pub fn check_path(&self, path: &str) -> Option<SkipReason> {
        if self.options.skip_vendored
            && path
                .split('/')
                .rev()
                .skip(1)
                .any(|dir| VENDORED_DIRS.contains(&dir))
        {
            return Some(SkipReason::Vendored);
        }
        if self.exclude.is_match(path) {
            return Some(SkipReason::Excluded);
        }
        if let Some(include) = &self.include
            && !include.is_match(path)
        {
            return Some(SkipReason::Excluded);
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.contains(".min.") {
            return Some(SkipReason::Minified);
        }
        None
    }

    pub fn check_size(&self, bytes: u64) -> Option<SkipReason> {
        (bytes > self.options.max_bytes).then_some(SkipReason::TooLarge)
    }

    /// Content rules: size, binary, minified.
    pub fn check_content(&self, content: &[u8]) -> Option<SkipReason> {
        if let Some(reason) = self.check_size(content.len() as u64) {
            return Some(reason);
        }
        if content[..content.len().min(BINARY_PROBE)].contains(&0) {
            return Some(SkipReason::Binary);
        }
        let mut lines = 0usize;
        let mut longest = 0usize;
        for line in content.split(|&b| b == b'\n') {
            lines += 1;
            longest = longest.max(line.len());
        }
        if longest > self.options.max_line
            || content.len() / lines.max(1) > self.options.max_avg_line
        {
            return Some(SkipReason::Minified);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_changes_with_every_option_and_only_with_them() {
        let key = |options: FilterOptions| Filter::new(options).unwrap().key();
        let base = key(FilterOptions::default());
        assert_eq!(base, key(FilterOptions::default()));
        let changed = [
            FilterOptions {
                max_bytes: 1,
                ..FilterOptions::default()
            },
            FilterOptions {
                include: vec!["src/**".into()],
                ..FilterOptions::default()
            },
            FilterOptions {
                exclude: vec!["src/**".into()],
                ..FilterOptions::default()
            },
            FilterOptions {
                skip_vendored: false,
                ..FilterOptions::default()
            },
            FilterOptions {
                max_line: 1,
                ..FilterOptions::default()
            },
        ];
        for options in changed {
            assert_ne!(key(options.clone()), base, "{options:?}");
        }
        // A glob list is not a string: ["a", "b"] and ["a\", \"b"] differ.
        let split = FilterOptions {
            include: vec!["a".into(), "b".into()],
            ..FilterOptions::default()
        };
        let joined = FilterOptions {
            include: vec!["a\", \"b".into()],
            ..FilterOptions::default()
        };
        assert_ne!(key(split), key(joined));
    }

    fn filter(include: &[&str], exclude: &[&str]) -> Filter {
        Filter::new(FilterOptions {
            include: include.iter().map(|s| s.to_string()).collect(),
            exclude: exclude.iter().map(|s| s.to_string()).collect(),
            ..FilterOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn vendored_and_built_paths_are_skipped() {
        let f = filter(&[], &[]);
        for p in [
            "node_modules/x/index.js",
            "a/vendor/b.js",
            "dist/app.js",
            "pkg/build/x.ts",
            "bower_components/q.js",
        ] {
            assert_eq!(f.check_path(p), Some(SkipReason::Vendored), "{p}");
        }
        assert_eq!(f.check_path("src/builder.js"), None);
        assert_eq!(f.check_path("src/dist.js"), None);
        assert_eq!(
            f.check_path("lib/jquery.min.js"),
            Some(SkipReason::Minified)
        );
    }

    #[test]
    fn include_and_exclude_globs() {
        let f = filter(&["src/**"], &["**/*.test.js"]);
        assert_eq!(f.check_path("src/a.js"), None);
        assert_eq!(f.check_path("src/a.test.js"), Some(SkipReason::Excluded));
        assert_eq!(f.check_path("lib/a.js"), Some(SkipReason::Excluded));
        assert!(
            Filter::new(FilterOptions {
                exclude: vec!["a[".into()],
                ..FilterOptions::default()
            })
            .is_err()
        );
    }

    #[test]
    fn content_rules() {
        let f = Filter::new(FilterOptions {
            max_bytes: 100_000,
            ..FilterOptions::default()
        })
        .unwrap();
        assert_eq!(f.check_content(b"const a = 1;\n"), None);
        assert_eq!(f.check_content(b"abc\0def"), Some(SkipReason::Binary));
        let long = format!("var a={};", "1+".repeat(4000));
        assert_eq!(f.check_content(long.as_bytes()), Some(SkipReason::Minified));
        assert_eq!(
            f.check_content(&vec![b'\n'; 100_001]),
            Some(SkipReason::TooLarge)
        );
        // Invalid UTF-8 is not a reason to skip.
        assert_eq!(f.check_content(b"const s = '\xff\xfe';\n"), None);
    }
}
