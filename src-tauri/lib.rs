//! Glasshouse app.
