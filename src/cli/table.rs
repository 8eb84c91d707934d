//! Plain-text tables for the terminal: each column as wide as its longest value (or its
//! heading), two spaces between columns, the last column never padded.

use std::fmt::Write as _;

/// How a column's values line up.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A table built row by row, then printed in one go.
pub struct Table {
    headings: Vec<&'static str>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings and alignments.
    pub fn new(columns: &[(&'static str, Align)]) -> Self {
        Self {
            headings: columns.iter().map(|(h, _)| *h).collect(),
            align: columns.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are empty, extra ones are dropped.
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.headings.len(), String::new());
        self.rows.push(cells);
    }

    /// The table as lines of text, the headings first.
    pub fn render(&self) -> String {
        let width = |s: &str| s.chars().count();
        let mut widths: Vec<usize> = self.headings.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let headings: Vec<String> = self.headings.iter().map(|h| (*h).to_owned()).collect();
        let mut out = String::new();
        for row in std::iter::once(&headings).chain(&self.rows) {
            let last = row.len().saturating_sub(1);
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                let pad = widths[i].saturating_sub(width(cell));
                match self.align[i] {
                    Align::Right => {
                        line.push_str(&" ".repeat(pad));
                        line.push_str(cell);
                    }
                    Align::Left if i == last => line.push_str(cell),
                    Align::Left => {
                        line.push_str(cell);
                        line.push_str(&" ".repeat(pad));
                    }
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_longest_value() {
        let mut t = Table::new(&[
            ("EMAIL", Align::Left),
            ("N", Align::Right),
            ("DETAIL", Align::Left),
        ]);
        t.row(vec!["a@example.org".into(), "7".into(), "x".into()]);
        t.row(vec!["zoë.long-name@example.org".into(), "12".into()]);
        assert_eq!(
            t.render(),
            "EMAIL                       N  DETAIL\n\
             a@example.org               7  x\n\
             zoë.long-name@example.org  12\n"
        );
    }

    #[test]
    fn an_empty_table_is_its_headings() {
        let t = Table::new(&[("ID", Align::Left), ("NAME", Align::Left)]);
        assert_eq!(t.render(), "ID  NAME\n");
    }
}
