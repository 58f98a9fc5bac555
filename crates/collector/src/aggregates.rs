//! Opt-in rates per team, now and per day, as managers may see them: only for groups of at least
//! `k` enrolled people, and never per person.
//!
//! ## What the guards cover
//! - A team with fewer than `k` enrolled devices is returned as `{"team", "hidden": true}`: no
//!   count, no rate, no hours, no days.
//! - A day on which a shown team had fewer than `k` enrolled devices is `{"day", "hidden": true}`.
//! - Totals (now and per day) are sums over the groups shown in the same place only, and say so,
//!   so "total minus the shown teams" gives nothing: there is no company-wide figure to subtract
//!   from. Nothing counts the hidden teams' members anywhere.
//! - Approved hours are per-person activity, so a group's hours are shown only when at least `k`
//!   of its devices participate (otherwise `approved_hours` is `null`), and totals add up only
//!   the hours that are shown.
//!
//! ## What they do not cover
//! - Differences over time within a shown group: if a shown team's count or rate changes from
//!   one day to the next, a manager who knows who joined or changed their mind that day learns
//!   that person's choice. Counting cannot hide a change made by one person.
//! - A rate of 0 % or 100 % tells every member's choice (everyone opted out, or in); a group
//!   being shown at all tells that it has at least `k` members, and the day it first appears
//!   tells its size then.
//! - Team names, and the number of hidden teams, are visible.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;
use serde::Serialize;

use crate::error::Result;

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;

/// What the figures are computed from: loaded in one go, computed without the database lock.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    /// (id, name), in name order.
    teams: Vec<(i64, String)>,
    /// (device id, team id, enrolled at).
    devices: Vec<(String, i64, i64)>,
    /// Per device: its opt-in changes (at, participating), in time order.
    changes: HashMap<String, Vec<(i64, bool)>>,
    /// (device id, team id, window start, window end) of every stored batch.
    batches: Vec<(String, i64, i64, i64)>,
}

impl Facts {
    pub(crate) fn load(conn: &Connection) -> Result<Facts> {
        let mut facts = Facts::default();
        let mut stmt = conn.prepare("SELECT id, name FROM teams ORDER BY name")?;
        facts.teams = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare("SELECT id, team_id, enrolled_at FROM devices")?;
        facts.devices = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut stmt = conn.prepare(
            "SELECT device_id, at, participating FROM participation_changes ORDER BY at, rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get(2)?))
        })?;
        for row in rows {
            let (device, at, on) = row?;
            facts.changes.entry(device).or_default().push((at, on));
        }
        let mut stmt =
            conn.prepare("SELECT device_id, team_id, window_start, window_end FROM batches")?;
        facts.batches = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
            .collect::<Result<_, _>>()?;
        Ok(facts)
    }

    /// Whether `device` participated just before `t`.
    fn participating_before(&self, device: &str, t: i64) -> bool {
        self.changes
            .get(device)
            .and_then(|c| c.iter().take_while(|(at, _)| *at < t).last())
            .is_some_and(|(_, on)| *on)
    }
}

/// The answer of `GET /api/v1/aggregates`, and what the manager page shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Aggregates {
    /// The smallest group shown.
    pub k: u32,
    pub generated_at: String,
    /// Days are UTC calendar days, oldest first; the last one is today, up to now.
    pub days: Vec<String>,
    pub teams: Vec<TeamFigures>,
    pub hidden_teams: u32,
    pub totals: Totals,
}

/// A team: its figures, or only that it is too small to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum TeamFigures {
    Shown(ShownTeam),
    Hidden { team: String, hidden: bool },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownTeam {
    pub team: String,
    #[serde(flatten)]
    pub now: Figures,
    /// One entry per day of `Aggregates::days`.
    pub daily: Vec<DayFigures>,
}

/// Counts for one group at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    pub enrolled: u64,
    pub participating: u64,
    /// `participating / enrolled`, from 0 to 1.
    pub rate: f64,
    /// Distinct device-hours covered by uploaded (and not withdrawn) batches: over the whole
    /// period for a team's current figures, within the day for a day. `None` when fewer than k
    /// devices participate.
    pub approved_hours: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum DayFigures {
    Shown {
        day: String,
        #[serde(flatten)]
        figures: Figures,
    },
    Hidden {
        day: String,
        hidden: bool,
    },
}

/// Sums over the shown groups only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    pub scope: &'static str,
    /// How many teams the current totals add up.
    pub teams: u64,
    #[serde(flatten)]
    pub now: Figures,
    pub daily: Vec<DayTotal>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayTotal {
    pub day: String,
    pub teams: u64,
    #[serde(flatten)]
    pub figures: Figures,
}

const TOTALS_SCOPE: &str = "shown groups only: teams (and days) with fewer than k enrolled people are left out, and approved hours only where at least k people participate";

/// Counts for one team at time `t` (exclusive), with hours counted in `[hours_from, t)`.
fn figures_at(
    facts: &Facts,
    members: &[&(String, i64, i64)],
    hours: &HashSet<(usize, i64)>,
    hours_from: i64,
    t: i64,
    k: u32,
) -> Figures {
    let enrolled: Vec<usize> = members
        .iter()
        .enumerate()
        .filter(|(_, d)| d.2 < t)
        .map(|(i, _)| i)
        .collect();
    let participating = enrolled
        .iter()
        .filter(|&&i| facts.participating_before(&members[i].0, t))
        .count() as u64;
    let n = enrolled.len() as u64;
    let from_hour = hours_from.div_euclid(HOUR);
    let to_hour = (t - 1).div_euclid(HOUR);
    let approved = hours
        .iter()
        .filter(|(_, h)| *h >= from_hour && *h <= to_hour)
        .count() as u64;
    Figures {
        enrolled: n,
        participating,
        rate: if n == 0 {
            0.0
        } else {
            participating as f64 / n as f64
        },
        approved_hours: (participating >= u64::from(k)).then_some(approved),
    }
}

fn add(total: &mut Figures, f: &Figures) {
    total.enrolled += f.enrolled;
    total.participating += f.participating;
    total.rate = if total.enrolled == 0 {
        0.0
    } else {
        total.participating as f64 / total.enrolled as f64
    };
    if let Some(h) = f.approved_hours {
        total.approved_hours = Some(total.approved_hours.unwrap_or(0) + h);
    }
}

fn empty() -> Figures {
    Figures {
        enrolled: 0,
        participating: 0,
        rate: 0.0,
        approved_hours: None,
    }
}

fn day_name(start: i64) -> String {
    chrono::DateTime::from_timestamp_micros(start)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Computes the figures at `now` for the last `days` UTC days (at least 1), hiding groups with
/// fewer than `k` enrolled devices.
pub(crate) fn compute(facts: &Facts, now: i64, days: u32, k: u32) -> Aggregates {
    let days = days.max(1);
    let today = now.div_euclid(DAY) * DAY;
    let starts: Vec<i64> = (0..i64::from(days))
        .rev()
        .map(|i| today - i * DAY)
        .collect();
    let period_start = starts[0];
    // "As of now": everything up to and including this microsecond.
    let t_now = now + 1;

    let device_index: HashMap<&str, usize> = facts
        .devices
        .iter()
        .enumerate()
        .map(|(i, d)| (d.0.as_str(), i))
        .collect();
    let mut hours: HashMap<i64, HashSet<(usize, i64)>> = HashMap::new();
    for (device, team, start, end) in &facts.batches {
        let Some(&d) = device_index.get(device.as_str()) else {
            continue;
        };
        let first = start.div_euclid(HOUR);
        // Windows are at most a day long (the batch format checks), so this loop is short.
        let last = (end - 1).max(*start).div_euclid(HOUR).min(first + 48);
        let set = hours.entry(*team).or_default();
        for h in first..=last {
            set.insert((d, h));
        }
    }
    let no_hours = HashSet::new();

    let mut teams = Vec::new();
    let mut hidden_teams = 0;
    let mut totals = Totals {
        scope: TOTALS_SCOPE,
        teams: 0,
        now: empty(),
        daily: starts
            .iter()
            .map(|&s| DayTotal {
                day: day_name(s),
                teams: 0,
                figures: empty(),
            })
            .collect(),
    };
    for (team_id, name) in &facts.teams {
        let members: Vec<&(String, i64, i64)> =
            facts.devices.iter().filter(|d| d.1 == *team_id).collect();
        let team_hours = hours.get(team_id).unwrap_or(&no_hours);
        let current = figures_at(facts, &members, team_hours, period_start, t_now, k);
        if current.enrolled < u64::from(k) {
            hidden_teams += 1;
            teams.push(TeamFigures::Hidden {
                team: name.clone(),
                hidden: true,
            });
            continue;
        }
        totals.teams += 1;
        add(&mut totals.now, &current);
        let mut daily = Vec::with_capacity(starts.len());
        for (i, &start) in starts.iter().enumerate() {
            let end = (start + DAY).min(t_now);
            let f = figures_at(facts, &members, team_hours, start, end, k);
            if f.enrolled < u64::from(k) {
                daily.push(DayFigures::Hidden {
                    day: day_name(start),
                    hidden: true,
                });
            } else {
                let total = &mut totals.daily[i];
                total.teams += 1;
                add(&mut total.figures, &f);
                daily.push(DayFigures::Shown {
                    day: day_name(start),
                    figures: f,
                });
            }
        }
        teams.push(TeamFigures::Shown(ShownTeam {
            team: name.clone(),
            now: current,
            daily,
        }));
    }
    Aggregates {
        k,
        generated_at: crate::api::rfc3339(now),
        days: starts.iter().map(|&s| day_name(s)).collect(),
        teams,
        hidden_teams,
        totals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_764_500_000_000_000; // 2025-11-30T10:53:20Z

    fn facts(sizes: &[(&str, usize, usize)]) -> Facts {
        let mut f = Facts::default();
        for (t, (name, enrolled, participating)) in sizes.iter().enumerate() {
            f.teams.push((t as i64, (*name).to_owned()));
            for i in 0..*enrolled {
                let id = format!("{name}-{i}");
                f.devices.push((id.clone(), t as i64, T0 - 3 * DAY));
                if i < *participating {
                    f.changes
                        .entry(id.clone())
                        .or_default()
                        .push((T0 - 2 * DAY, true));
                }
                let today = T0.div_euclid(DAY) * DAY;
                f.batches
                    .push((id, t as i64, today + 8 * HOUR, today + 9 * HOUR));
            }
        }
        f
    }

    #[test]
    fn small_teams_are_hidden_and_left_out_of_totals() {
        let a = compute(&facts(&[("big", 6, 5), ("small", 3, 3)]), T0, 7, 5);
        assert_eq!(a.hidden_teams, 1);
        let TeamFigures::Shown(big) = &a.teams[0] else {
            panic!("big is shown")
        };
        assert_eq!((big.now.enrolled, big.now.participating), (6, 5));
        assert_eq!(big.now.approved_hours, Some(6));
        assert!(matches!(&a.teams[1], TeamFigures::Hidden { team, .. } if team == "small"));
        assert_eq!((a.totals.teams, a.totals.now.enrolled), (1, 6));
        // Enrolled during the fourth of seven days, opted in a day later: the first three days
        // are hidden, the fourth shows no one participating.
        assert!(matches!(big.daily[2], DayFigures::Hidden { .. }));
        assert!(
            matches!(big.daily[3], DayFigures::Shown { figures, .. } if figures.participating == 0)
        );
        assert!(
            matches!(big.daily[4], DayFigures::Shown { figures, .. } if figures.participating == 5)
        );
        assert_eq!(a.totals.daily[2].teams, 0);
        assert_eq!(a.totals.daily[6].figures.approved_hours, Some(6));
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json["teams"][1],
            serde_json::json!({"team": "small", "hidden": true})
        );
    }

    #[test]
    fn hours_need_k_participants() {
        let a = compute(&facts(&[("t", 8, 4)]), T0, 1, 5);
        let TeamFigures::Shown(t) = &a.teams[0] else {
            panic!()
        };
        assert_eq!(t.now.approved_hours, None);
        assert_eq!(a.totals.now.approved_hours, None);
    }
}
