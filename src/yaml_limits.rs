//! Bounds on a YAML file read before it is parsed (rulebooks, trackers files).
//!
//! The YAML parser reads a whole document before serde can refuse it, and deep nesting makes it
//! slow: a 200 KB rulebook of 100,000 nested `[` took 42 s to reject. Such files are refused at
//! once; a real rulebook or trackers file nests a handful of levels.

/// Larger files are refused: the built-in rulebook and trackers file are a few KB.
pub const MAX_BYTES: usize = 4 << 20;
/// Deeper nesting (flow brackets, or block sequences opened on one line) is refused.
pub const MAX_DEPTH: usize = 64;

/// Why `text` is refused, with the 1-based line where it went too deep, if it is.
pub fn check(text: &str) -> Result<(), (Option<usize>, String)> {
    if text.len() > MAX_BYTES {
        return Err((
            None,
            format!(
                "{} bytes, over the {} a rulebook or trackers file may have",
                text.len(),
                MAX_BYTES
            ),
        ));
    }
    let too_deep =
        |line: usize| Err((Some(line), format!("nested deeper than {MAX_DEPTH} levels")));
    let mut flow = 0usize;
    for (number, line) in text.lines().enumerate() {
        // Block sequences opened on one line (`- - - x`) nest as brackets do.
        let mut rest = line.trim_start();
        let mut dashes = 0;
        while let Some(after) = rest.strip_prefix("- ") {
            dashes += 1;
            rest = after.trim_start();
        }
        if dashes > MAX_DEPTH {
            return too_deep(number + 1);
        }
        let mut quote: Option<char> = None;
        let mut previous = ' ';
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') if previous.is_whitespace() => break,
                (None, '[' | '{') => {
                    flow += 1;
                    if flow > MAX_DEPTH {
                        return too_deep(number + 1);
                    }
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
            previous = c;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_and_huge_files_are_refused_and_real_files_pass() {
        let deep = format!("rules:\n  x: {}{}\n", "[".repeat(65), "]".repeat(65));
        assert_eq!(check(&deep).unwrap_err().0, Some(2));
        let dashes = format!("trackers:\n{}x\n", "- ".repeat(65));
        assert_eq!(check(&dashes).unwrap_err().0, Some(2));
        let huge = "#".repeat(MAX_BYTES + 1);
        assert_eq!(check(&huge).unwrap_err().0, None);
        // Brackets in quotes and comments do not nest.
        let quoted = format!(
            "a: '{}' # {}\nb: \"{}\"\n",
            "[".repeat(100),
            "{".repeat(100),
            "[".repeat(100)
        );
        assert!(check(&quoted).is_ok());
        let nested = format!("a: {}{}\n", "[".repeat(64), "]".repeat(64));
        assert!(check(&nested).is_ok());
        assert!(check(include_str!("default_rules.yaml")).is_ok());
        assert!(check(include_str!("default_trackers.yaml")).is_ok());
    }
}
