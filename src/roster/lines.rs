//! Line numbers for the roster's problems.

/// Turns byte offsets into line numbers. The csv crate's own line numbers lag behind on
/// files with CRLF line ends (what Excel writes), so lines are counted here; offsets
/// only grow, so counting is incremental.
pub(super) struct LineCounter<'a> {
    input: &'a [u8],
    counted_to: usize,
    newlines: u64,
}

impl<'a> LineCounter<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            counted_to: 0,
            newlines: 0,
        }
    }

    /// The line on which the record csv reports at `byte` starts. For CRLF files and
    /// after blank lines csv points at a line end before the record, so line ends are
    /// skipped first.
    pub(super) fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.input.len());
        while self
            .input
            .get(start)
            .is_some_and(|b| *b == b'\r' || *b == b'\n')
        {
            start += 1;
        }
        if start > self.counted_to {
            let newlines = self.input[self.counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.newlines += u64::try_from(newlines).unwrap_or(u64::MAX);
            self.counted_to = start;
        }
        self.newlines + 1
    }
}
