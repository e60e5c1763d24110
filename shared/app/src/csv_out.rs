//! The one writer of every CSV Tidings serves (patient export, campaign recipients, upload
//! failures): each cell is made safe for a spreadsheet as it is written, so no cell a patient,
//! a practice system or an upload put there runs as a formula.

use tidings_domain::export::spreadsheet_safe;

/// A CSV being written in memory.
pub struct CsvOut {
    w: csv::Writer<Vec<u8>>,
}

impl Default for CsvOut {
    fn default() -> Self {
        Self::new()
    }
}

impl CsvOut {
    pub fn new() -> Self {
        Self {
            w: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new()),
        }
    }

    /// Writes one row, every cell through [`spreadsheet_safe`].
    pub fn row<I, S>(&mut self, cells: I) -> Result<(), csv::Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.w.write_record(
            cells
                .into_iter()
                .map(|c| spreadsheet_safe(c.as_ref()).into_owned()),
        )
    }

    /// The bytes written so far.
    pub fn len(&mut self) -> Result<usize, csv::Error> {
        self.w.flush()?;
        Ok(self.w.get_ref().len())
    }

    pub fn is_empty(&mut self) -> Result<bool, csv::Error> {
        self.len().map(|n| n == 0)
    }

    /// The finished CSV.
    pub fn finish(self) -> Result<Vec<u8>, csv::Error> {
        self.w
            .into_inner()
            .map_err(|e| csv::Error::from(e.into_error()))
    }
}
