//! End-to-end tests of the `glasshouse` binary: real X servers (Xvfb + openbox), real input
//! synthesised with xdotool, the real recorder and CLI. Compiled as one test binary.

mod audit;
mod cli;
mod collector;
mod dashboard;
mod encryption;
mod manager;
mod record;
mod repair;
mod screenlock;
mod sensitive;
mod uploads;
mod uploads_ui;
mod util;
mod webdriver;
