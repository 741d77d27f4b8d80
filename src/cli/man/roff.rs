//! A small writer of man(7) source that `mandoc -T lint` and groff accept
//! without a warning: every text escaped, lines of at most 80 bytes, no
//! trailing blanks, one paragraph macro at a time.

/// The longest source line written (mandoc's style limit is 80 bytes).
const WIDTH: usize = 78;

/// Man page source being written.
#[derive(Default)]
pub struct Roff(String);

/// Text with roff's special characters escaped: backslash, the minus sign
/// (so options and commands copy as typed), quotes and backticks.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\e"),
            '-' => out.push_str("\\-"),
            '\'' => out.push_str("\\(aq"),
            '`' => out.push_str("\\(ga"),
            '…' => out.push_str("..."),
            // groff and mandoc read the same escape whatever the encoding
            c if !c.is_ascii() => out.push_str(&format!("\\[u{:04X}]", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

/// Bold text.
pub fn bold(text: &str) -> String {
    format!("\\fB{}\\fR", escape(text))
}

/// Italic text (a value to fill in).
pub fn italic(text: &str) -> String {
    format!("\\fI{}\\fR", escape(text))
}

impl Roff {
    /// A request such as `.SH NAME` or `.TP`; arguments with blanks are
    /// quoted.
    pub fn request(&mut self, name: &str, args: &[&str]) {
        self.0.push('.');
        self.0.push_str(name);
        for a in args {
            self.0.push(' ');
            if a.contains(' ') || a.is_empty() {
                self.0.push('"');
                self.0.push_str(&a.replace('"', "\\(dq"));
                self.0.push('"');
            } else {
                self.0.push_str(a);
            }
        }
        self.0.push('\n');
    }

    /// A section heading.
    pub fn section(&mut self, name: &str) {
        self.request("SH", &[name]);
    }

    /// Plain text, escaped and filled.
    pub fn text(&mut self, text: &str) {
        self.formatted(&escape(text));
    }

    /// Text that is already escaped and holds font changes, filled: broken
    /// between words into source lines of at most [`WIDTH`] bytes.
    pub fn formatted(&mut self, text: &str) {
        let mut line = String::new();
        for word in text.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + word.len() > WIDTH {
                self.line(&line);
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        if !line.is_empty() {
            self.line(&line);
        }
    }

    /// Paragraphs separated by blank lines, each escaped and filled.
    pub fn paragraphs(&mut self, text: &str) {
        for (i, paragraph) in text
            .split("\n\n")
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            if i > 0 {
                self.request("PP", &[]);
            }
            self.text(paragraph);
        }
    }

    /// A tagged paragraph: `tag` (already formatted), then `body` (plain).
    pub fn item(&mut self, tag: &str, body: &str) {
        self.request("TP", &[]);
        self.line(tag);
        self.paragraphs(body);
    }

    /// Lines shown as typed (examples), indented.
    pub fn verbatim<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>) {
        self.request("RS", &["4"]);
        self.request("nf", &[]);
        for l in lines {
            self.line(&escape(l));
        }
        self.request("fi", &[]);
        self.request("RE", &[]);
    }

    /// One source line; a line that would read as a request is protected.
    fn line(&mut self, line: &str) {
        if line.starts_with('.') || line.starts_with('\'') {
            self.0.push_str("\\&");
        }
        self.0.push_str(line.trim_end());
        self.0.push('\n');
    }

    /// The page.
    pub fn finish(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_filled_within_the_width() {
        let mut r = Roff::default();
        r.text(&"retentiond run --branch 'x' \\ ".repeat(10));
        let page = r.finish();
        assert!(page.lines().all(|l| l.len() <= WIDTH && !l.ends_with(' ')));
        assert!(page.contains("\\-\\-branch \\(aqx\\(aq \\e"), "{page}");
    }

    #[test]
    fn a_line_that_would_be_a_request_is_protected() {
        let mut r = Roff::default();
        r.text(".hidden");
        assert_eq!(r.finish(), "\\&.hidden\n");
    }
}
