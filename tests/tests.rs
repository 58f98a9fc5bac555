//! End-to-end tests of the `glasshouse` binary: real X servers (Xvfb + openbox), real input
//! synthesised with xdotool, the real recorder and CLI. Compiled as one test binary.

mod cli;
mod collector;
mod dashboard;
mod manager;
mod record;
mod uploads;
mod uploads_ui;
mod util;
mod webdriver;
