//! Rubrics: how property verdicts become points for a grader (TOML, see
//! `fixtures/rubrics/container-lab.toml`, which ships as the default).

use crate::catalogue;
use crate::outcome::Outcome;
use crate::run::PropertyResult;
use serde::{Deserialize, Serialize};

/// The rubric every build carries: the classic container lab.
pub const DEFAULT_TOML: &str = include_str!("../../../fixtures/rubrics/container-lab.toml");

/// Who sees an item on Gradescope.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    #[default]
    Visible,
    Hidden,
    AfterDueDate,
    AfterPublished,
}

/// How `nsconform grade` builds and runs a submission.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    pub build: Option<String>,
    pub run: Option<String>,
    pub timeout: Option<f64>,
}

/// One graded property.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Item {
    pub id: String,
    pub points: f64,
    pub name: String,
    pub visibility: Visibility,
    pub group: Option<String>,
}

/// A validated rubric.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Rubric {
    pub title: String,
    pub submission: Submission,
    pub items: Vec<Item>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: toml::Spanned<String>,
    points: f64,
    name: Option<String>,
    #[serde(default)]
    visibility: Visibility,
    group: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    title: Option<String>,
    #[serde(default)]
    submission: Submission,
    #[serde(default)]
    property: Vec<RawItem>,
}

/// What is wrong with a rubric, with the line it is on.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RubricError {
    #[error("{source_name}: {message}")]
    Syntax {
        source_name: String,
        message: String,
    },
    #[error(
        "{source_name}:{line}: unknown property ID `{id}`; `nsconform list` shows the catalogue"
    )]
    UnknownId {
        source_name: String,
        line: usize,
        id: String,
    },
    #[error("{source_name}:{line}: property `{id}` is listed twice")]
    Duplicate {
        source_name: String,
        line: usize,
        id: String,
    },
    #[error("{source_name}:{line}: points of `{id}` must be a number from 0 to 1000000")]
    BadPoints {
        source_name: String,
        line: usize,
        id: String,
    },
    #[error("{source_name}: the rubric lists no [[property]]")]
    Empty { source_name: String },
}

impl Rubric {
    /// For grading a subject: every item must name a property judged for subjects (one
    /// that is not could only ever score 0 and would inflate the maximum). `Err` names
    /// them.
    pub fn check_for_subjects(&self, source_name: &str) -> Result<(), String> {
        let bad: Vec<&str> = self
            .items
            .iter()
            .filter(|i| catalogue::find(&i.id).is_some_and(|p| p.subject.is_none()))
            .map(|i| i.id.as_str())
            .collect();
        if bad.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{source_name}: {} cannot be judged for a subject (a kernel-only property); \
             remove {} or pick properties marked `yes` in the SUBJECT column of `nsconform list`",
            bad.join(", "),
            if bad.len() == 1 { "it" } else { "them" }
        ))
    }

    /// The shipped default rubric.
    pub fn default_lab() -> Rubric {
        Rubric::parse(DEFAULT_TOML, "container-lab.toml").expect("the default rubric is valid")
    }

    /// Parse and validate rubric text; `source_name` names it in errors.
    pub fn parse(text: &str, source_name: &str) -> Result<Rubric, RubricError> {
        let raw: Raw = toml::from_str(text).map_err(|e| RubricError::Syntax {
            source_name: source_name.to_string(),
            message: match e.span() {
                Some(span) => format!("line {}: {}", line_of(text, span.start), e.message()),
                None => e.message().to_string(),
            },
        })?;
        let mut items: Vec<Item> = Vec::new();
        for it in raw.property {
            let line = line_of(text, it.id.span().start);
            let id = it.id.into_inner();
            let Some(p) = catalogue::find(&id) else {
                return Err(RubricError::UnknownId {
                    source_name: source_name.into(),
                    line,
                    id,
                });
            };
            if items.iter().any(|i| i.id == p.id) {
                return Err(RubricError::Duplicate {
                    source_name: source_name.into(),
                    line,
                    id,
                });
            }
            // Bounded, so that no sum of items overflows to infinity.
            if !it.points.is_finite() || !(0.0..=MAX_POINTS).contains(&it.points) {
                return Err(RubricError::BadPoints {
                    source_name: source_name.into(),
                    line,
                    id,
                });
            }
            items.push(Item {
                id: p.id.to_string(),
                points: it.points,
                name: it.name.unwrap_or_else(|| p.title.to_string()),
                visibility: it.visibility,
                group: it.group,
            });
        }
        if items.is_empty() {
            return Err(RubricError::Empty {
                source_name: source_name.into(),
            });
        }
        Ok(Rubric {
            title: raw.title.unwrap_or_else(|| "nsconform".into()),
            submission: raw.submission,
            items,
        })
    }

    /// One point per property result, for runs without a rubric.
    pub fn one_point_each(results: &[PropertyResult]) -> Rubric {
        Rubric {
            title: "nsconform".into(),
            submission: Submission::default(),
            items: results
                .iter()
                .map(|r| Item {
                    id: r.id.clone(),
                    points: 1.0,
                    name: r.title.clone(),
                    visibility: Visibility::Visible,
                    group: None,
                })
                .collect(),
        }
    }

    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }

    pub fn max_score(&self) -> f64 {
        self.items.iter().fold(0.0, |acc, i| acc + i.points)
    }

    /// Score of a run: full points for a pass, nothing otherwise.
    pub fn score(&self, results: &[PropertyResult]) -> Score {
        let earned = self
            .items
            .iter()
            .filter(|i| {
                results
                    .iter()
                    .any(|r| r.id == i.id && r.verdict.outcome == Outcome::Pass)
            })
            .fold(0.0, |acc, i| acc + i.points);
        Score {
            earned,
            max: self.max_score(),
        }
    }
}

/// The most points one rubric item may carry.
pub const MAX_POINTS: f64 = 1_000_000.0;

/// Points earned out of points possible.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, schemars::JsonSchema)]
pub struct Score {
    pub earned: f64,
    pub max: f64,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rubric_is_valid() {
        let r = Rubric::default_lab();
        assert!(r.items.len() >= 7);
        assert_eq!(r.submission.run.as_deref(), Some("./container {probe}"));
    }

    #[test]
    fn unknown_ids_name_their_line() {
        let text = "title = \"x\"\n\n[[property]]\nid = \"PID-01\"\npoints = 1\n\n[[property]]\nid = \"NOPE-99\"\npoints = 1\n";
        let e = Rubric::parse(text, "r.toml").unwrap_err();
        assert_eq!(
            e,
            RubricError::UnknownId {
                source_name: "r.toml".into(),
                line: 8,
                id: "NOPE-99".into()
            }
        );
        assert!(e
            .to_string()
            .starts_with("r.toml:8: unknown property ID `NOPE-99`"));
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let e = Rubric::parse("title = \"x\"\n[[property]]\nid = PID-01\n", "r.toml").unwrap_err();
        assert!(e.to_string().contains("line 3"), "{e}");
        let e = Rubric::parse(
            "[[property]]\nid = \"PID-01\"\npoints = 1\ncolour = 2\n",
            "r.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("colour"), "{e}");
    }

    #[test]
    fn duplicates_and_negative_points_are_rejected() {
        let dup = "[[property]]\nid = \"PID-01\"\npoints = 1\n[[property]]\nid = \"pid-01\"\npoints = 1\n";
        assert!(matches!(
            Rubric::parse(dup, "r").unwrap_err(),
            RubricError::Duplicate { line: 5, .. }
        ));
        let neg = "[[property]]\nid = \"PID-01\"\npoints = -1\n";
        assert!(matches!(
            Rubric::parse(neg, "r").unwrap_err(),
            RubricError::BadPoints { .. }
        ));
        assert!(matches!(
            Rubric::parse("", "r").unwrap_err(),
            RubricError::Empty { .. }
        ));
    }
}
