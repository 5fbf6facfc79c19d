//! `@StartTime` and `@EndTime` in a user's query, turned into the driver's positional parameters
//! (`$1` for PostgreSQL, `?1` for SQLite, `?` for MySQL and ODBC) so that the instants are always bound,
//! never spliced into the SQL text. Placeholders inside string literals, quoted identifiers,
//! dollar-quoted strings and comments (MySQL's `#` ones too) are left alone.

/// A time bound of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `@StartTime`: the start of the window (excluded by convention: `ts > @StartTime`).
    Start,
    /// `@EndTime`: the end of the window (`ts <= @EndTime`).
    End,
}

impl Param {
    /// The placeholder as the user writes it.
    pub fn placeholder(self) -> &'static str {
        match self {
            Self::Start => "@StartTime",
            Self::End => "@EndTime",
        }
    }
}

/// How a driver numbers its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `$1`, `$2` (PostgreSQL).
    Dollar,
    /// `?1`, `?2` (SQLite).
    Question,
    /// `?`, one parameter per occurrence, in order (MySQL and MariaDB, whose string literals
    /// also escape with backslashes and whose comments also start with `#`).
    Positional,
    /// `?`, one parameter per occurrence, in order, in standard SQL (ODBC: the driver passes
    /// the SQL to its source).
    Odbc,
}

/// A query with its placeholders replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The SQL handed to the driver.
    pub sql: String,
    /// What each positional parameter is: `params[0]` is `$1`/`?1`, or the first `?`.
    pub params: Vec<Param>,
}

impl Query {
    /// Whether the query uses this bound.
    pub fn uses(&self, p: Param) -> bool {
        self.params.contains(&p)
    }
}

/// Replaces `@StartTime` and `@EndTime` (case-sensitive, as whole words) by positional
/// parameters. Each placeholder gets one numbered parameter however often it appears; with
/// [`Style::Positional`], one `?` per occurrence.
pub fn rewrite(sql: &str, style: Style) -> Query {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut params = Vec::new();
    let mut rest = sql;
    let mysql = style == Style::Positional;
    let positional = mysql || style == Style::Odbc;
    while let Some(c) = rest.chars().next() {
        let skipped = match c {
            '\'' => quoted(rest, '\'', mysql),
            '"' => quoted(rest, '"', mysql),
            '#' if mysql => rest.find('\n').unwrap_or(rest.len()),
            '`' => quoted(rest, '`', false),
            '[' => rest.find(']').map_or(rest.len(), |i| i + 1),
            '-' if rest.starts_with("--") => rest.find('\n').unwrap_or(rest.len()),
            '/' if rest.starts_with("/*") => block_comment(rest),
            '$' => dollar_quoted(rest).unwrap_or(1),
            '@' => {
                if let Some((param, len)) = placeholder(rest) {
                    if positional {
                        params.push(param);
                        out.push('?');
                        rest = &rest[len..];
                        continue;
                    }
                    let n = match params.iter().position(|p| *p == param) {
                        Some(i) => i + 1,
                        None => {
                            params.push(param);
                            params.len()
                        }
                    };
                    out.push(if style == Style::Dollar { '$' } else { '?' });
                    out.push_str(&n.to_string());
                    rest = &rest[len..];
                    continue;
                }
                1
            }
            c if is_word(c) => {
                let word = rest.find(|c| !is_word(c)).unwrap_or(rest.len());
                // PostgreSQL's escape strings, E'…', escape with backslashes.
                if rest[..word].eq_ignore_ascii_case("e") && rest[word..].starts_with('\'') {
                    word + quoted(&rest[word..], '\'', true)
                } else {
                    word
                }
            }
            c => c.len_utf8(),
        };
        out.push_str(&rest[..skipped]);
        rest = &rest[skipped..];
    }
    Query { sql: out, params }
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `@StartTime`/`@EndTime` at the start of `s`, not followed by a word character.
fn placeholder(s: &str) -> Option<(Param, usize)> {
    [Param::Start, Param::End].into_iter().find_map(|p| {
        let name = p.placeholder();
        let after = s.strip_prefix(name)?;
        match after.chars().next() {
            Some(c) if is_word(c) => None,
            _ => Some((p, name.len())),
        }
    })
}

/// Length of a literal or identifier opened by `q` at the start of `s`; a doubled `q` is an
/// escaped one, and so is `\q` with `backslash`. An unterminated literal runs to the end.
fn quoted(s: &str, q: char, backslash: bool) -> usize {
    let mut chars = s.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if chars.peek().is_some_and(|&(_, n)| n == q) {
                chars.next();
                continue;
            }
            return i + 1;
        }
        if c == '\\' && backslash {
            chars.next();
        }
    }
    s.len()
}

/// Length of a `/* … */` comment (PostgreSQL nests them).
fn block_comment(s: &str) -> usize {
    let mut depth = 0usize;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    s.len()
}

/// Length of a PostgreSQL dollar-quoted string (`$$…$$`, `$tag$…$tag$`), if one starts here.
fn dollar_quoted(s: &str) -> Option<usize> {
    let close = s[1..].find('$')? + 1;
    let tag = &s[..=close];
    if !tag[1..tag.len() - 1].chars().all(is_word)
        || tag[1..].starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    let body = &s[tag.len()..];
    Some(
        body.find(tag)
            .map_or(s.len(), |i| tag.len() + i + tag.len()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_numbered_parameters_once_each() {
        let q = rewrite(
            "SELECT * FROM t WHERE ts > @StartTime AND ts <= @EndTime OR ts = @StartTime",
            Style::Dollar,
        );
        assert_eq!(
            q.sql,
            "SELECT * FROM t WHERE ts > $1 AND ts <= $2 OR ts = $1"
        );
        assert_eq!(q.params, [Param::Start, Param::End]);
        let q = rewrite("SELECT * FROM t WHERE ts <= @EndTime", Style::Question);
        assert_eq!(q.sql, "SELECT * FROM t WHERE ts <= ?1");
        assert_eq!(q.params, [Param::End]);
        assert!(!q.uses(Param::Start));
    }

    #[test]
    fn mysql_gets_one_question_mark_per_occurrence_and_keeps_its_literals_and_comments() {
        let sql = "SELECT 'it\\'s @StartTime', `@EndTime` FROM t # @StartTime\n\
                   WHERE ts > @StartTime AND ts <= @EndTime OR ts = @StartTime -- @EndTime";
        let q = rewrite(sql, Style::Positional);
        assert_eq!(
            q.sql,
            "SELECT 'it\\'s @StartTime', `@EndTime` FROM t # @StartTime\n\
             WHERE ts > ? AND ts <= ? OR ts = ? -- @EndTime"
        );
        assert_eq!(q.params, [Param::Start, Param::End, Param::Start]);
    }

    #[test]
    fn odbc_gets_one_question_mark_per_occurrence_in_standard_sql() {
        // No backslash escapes, no `#` comments: a `#` is a temporary table of SQL Server.
        let sql = "SELECT 'C:\\', [@EndTime] FROM #tmp WHERE ts > @StartTime AND ts <= @EndTime \
                   OR ts = @StartTime -- @EndTime";
        let q = rewrite(sql, Style::Odbc);
        assert_eq!(
            q.sql,
            "SELECT 'C:\\', [@EndTime] FROM #tmp WHERE ts > ? AND ts <= ? \
             OR ts = ? -- @EndTime"
        );
        assert_eq!(q.params, [Param::Start, Param::End, Param::Start]);
    }

    #[test]
    fn literals_identifiers_and_comments_keep_their_text() {
        let sql = "SELECT '@StartTime', \"@EndTime\", 'it''s @StartTime', $$ @EndTime $$, \
                   $x$ @StartTime $x$ -- @StartTime\n/* @EndTime /* nested */ @EndTime */ \
                   [@StartTime] `@EndTime` FROM t WHERE a > @StartTime";
        let q = rewrite(sql, Style::Dollar);
        assert_eq!(q.sql, sql.replace("a > @StartTime", "a > $1"));
        assert_eq!(q.params, [Param::Start]);
    }

    #[test]
    fn only_whole_placeholder_words_are_replaced() {
        let sql = "SELECT @StartTimes, @starttime, @ -5, '{1}'::int[] @> '{1}', $1";
        let q = rewrite(sql, Style::Dollar);
        assert_eq!(q.sql, sql);
        assert!(q.params.is_empty(), "{q:?}");
    }

    #[test]
    fn backslashes_escape_only_in_escape_strings() {
        let sql = r"SELECT 'C:\' AS dir, E'it\'s @EndTime' FROM t WHERE ts > @StartTime";
        let q = rewrite(sql, Style::Dollar);
        assert_eq!(q.sql, sql.replace("> @StartTime", "> $1"));
        assert_eq!(q.params, [Param::Start]);
    }

    #[test]
    fn an_injection_attempt_in_a_literal_is_not_touched() {
        let sql =
            "SELECT v FROM t WHERE note = '@StartTime''; DROP TABLE t; --' AND ts > @StartTime";
        let q = rewrite(sql, Style::Question);
        assert_eq!(
            q.sql,
            "SELECT v FROM t WHERE note = '@StartTime''; DROP TABLE t; --' AND ts > ?1"
        );
    }

    #[test]
    fn unterminated_text_runs_to_the_end() {
        for sql in [
            "SELECT '@StartTime",
            "SELECT /* @StartTime",
            "SELECT $a$ @StartTime",
        ] {
            let q = rewrite(sql, Style::Dollar);
            assert_eq!(q.sql, sql);
            assert!(q.params.is_empty());
        }
    }
}
