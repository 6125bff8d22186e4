//! The eight workflows that end with an expert model: their arguments and
//! what sets each apart (statuses, skip rule, guidance, the expert's task).

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;

use super::expert::{Expert, Skip};
use super::machine::{Kind, Spec, Workflow};
use super::{Confidence, RefactorConfidence, expert_args};
use crate::tools::Tool;

/// The expert workflow tools.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(Workflow::<ThinkDeepArgs>::new(&THINKDEEP)),
        Arc::new(Workflow::<DebugArgs>::new(&DEBUG)),
        Arc::new(Workflow::<CodeReviewArgs>::new(&CODEREVIEW)),
        Arc::new(Workflow::<PrecommitArgs>::new(&PRECOMMIT)),
        Arc::new(Workflow::<AnalyzeArgs>::new(&ANALYZE)),
        Arc::new(Workflow::<RefactorArgs>::new(&REFACTOR)),
        Arc::new(Workflow::<TestGenArgs>::new(&TESTGEN)),
        Arc::new(Workflow::<SecAuditArgs>::new(&SECAUDIT)),
    ]
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Validation {
    External,
    Internal,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum SeverityFilter {
    Critical,
    High,
    Medium,
    Low,
    All,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ReviewType {
    Full,
    Security,
    Performance,
    Quick,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum AnalysisType {
    Architecture,
    Performance,
    Security,
    Quality,
    General,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum OutputFormat {
    Summary,
    Detailed,
    Actionable,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum RefactorType {
    Codesmells,
    Decompose,
    Modernize,
    Organization,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum ThreatLevel {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum AuditFocus {
    Owasp,
    Compliance,
    Infrastructure,
    Dependencies,
    Comprehensive,
}

expert_args! {
    struct ThinkDeepArgs {
        #[serde(default)]
        confidence: Option<Confidence>,
        #[serde(default)]
        hypothesis: Option<String>,
        #[serde(default)]
        problem_context: Option<String>,
                #[serde(default)]
        focus_areas: Option<Vec<String>>,
    }
}

expert_args! {
    struct DebugArgs {
        #[serde(default)]
        confidence: Option<Confidence>,
        #[serde(default)]
        hypothesis: Option<String>,
    }
}

expert_args! {
    struct CodeReviewArgs {
        #[serde(default)]
        hypothesis: Option<String>,
        /// Not advertised: clients that learned PAL's older schema still
        /// send it. Kept with the step like any workflow's confidence; it
        /// decides nothing here (the expert is skipped by the internal
        /// type only).
        #[serde(default)]
        #[schemars(skip)]
        confidence: Option<Confidence>,
        #[serde(default)]
        review_type: Option<ReviewType>,
        /// internal: no expert.
        #[serde(default)]
        review_validation_type: Option<Validation>,
        #[serde(default)]
        focus_on: Option<String>,
        #[serde(default)]
        standards: Option<String>,
        #[serde(default)]
        severity_filter: Option<SeverityFilter>,
    }
}

expert_args! {
    struct PrecommitArgs {
        #[serde(default)]
        hypothesis: Option<String>,
        /// Not advertised: clients that learned PAL's older schema still
        /// send it. Kept with the step like any workflow's confidence; it
        /// decides nothing here (the expert is skipped by the internal
        /// type only).
        #[serde(default)]
        #[schemars(skip)]
        confidence: Option<Confidence>,
        /// internal: no expert.
        #[serde(default)]
        precommit_type: Option<Validation>,
        /// Repo folder (absolute).
        #[serde(default)]
        path: Option<String>,
        /// Git ref to diff against.
        #[serde(default)]
        compare_to: Option<String>,
        #[serde(default)]
        include_staged: Option<bool>,
        #[serde(default)]
        include_unstaged: Option<bool>,
        #[serde(default)]
        focus_on: Option<String>,
        #[serde(default)]
        severity_filter: Option<SeverityFilter>,
    }
}

expert_args! {
    struct AnalyzeArgs {
        #[serde(default)]
        confidence: Option<Confidence>,
        #[serde(default)]
        analysis_type: Option<AnalysisType>,
        #[serde(default)]
        output_format: Option<OutputFormat>,
    }
}

expert_args! {
    struct RefactorArgs {
        #[serde(default)]
        hypothesis: Option<String>,
        #[serde(default)]
        confidence: Option<RefactorConfidence>,
        #[serde(default)]
        refactor_type: Option<RefactorType>,
        #[serde(default)]
        focus_areas: Option<Vec<String>>,
        #[serde(default)]
        style_guide_examples: Option<Vec<String>>,
    }
}

expert_args! {
    struct TestGenArgs {
        #[serde(default)]
        hypothesis: Option<String>,
        #[serde(default)]
        confidence: Option<Confidence>,
    }
}

expert_args! {
    struct SecAuditArgs {
        #[serde(default)]
        hypothesis: Option<String>,
        #[serde(default)]
        confidence: Option<Confidence>,
        #[serde(default)]
        security_scope: Option<String>,
        #[serde(default)]
        threat_level: Option<ThreatLevel>,
        #[serde(default)]
        compliance_requirements: Option<Vec<String>>,
        #[serde(default)]
        audit_focus: Option<AuditFocus>,
        #[serde(default)]
        severity_filter: Option<SeverityFilter>,
    }
}

static THINKDEEP: Spec = Spec {
    name: "thinkdeep",
    description: "Think a hard problem through in steps, then have an expert model challenge it.",
    pause_status: "pause_for_thinkdeep",
    complete_status: "thinkdeep_complete",
    status_key: "thinkdeep_status",
    summary_key: "complete_thinking",
    actions: [
        &[
            "State the problem, its constraints and what a good answer must achieve",
            "Read the code and documents that bear on it",
            "Write down your first approach and the assumptions it rests on",
        ],
        &[
            "Test each assumption against the code or evidence",
            "Work out at least one real alternative and compare the trade-offs",
            "Look for edge cases and ways the approach could fail",
        ],
        &[
            "Check your conclusion against every requirement and constraint",
            "Note the risks that remain and what would change your mind",
        ],
    ],
    finish_note: "Deep thinking is complete. Present your conclusion, the reasoning and the trade-offs to the user.",
    unlisted: &[],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/thinkdeep.txt"),
        task: "Challenge and extend the agent's reasoning: say where it is sound, where it is wrong or thin, what it missed, and what you would conclude.",
        skip: Skip::Confidence("certain"),
        local_status: "deep_thinking_complete_ready_for_implementation",
        skipped_as: "skipped_due_to_certain_thinking_confidence",
        thinkdeep_default: true,
    }),
};

static DEBUG: Spec = Spec {
    name: "debug",
    description: "Debug in steps, then get an expert model's root-cause analysis.",
    pause_status: "pause_for_investigation",
    complete_status: "investigation_complete",
    status_key: "investigation_status",
    summary_key: "complete_investigation",
    actions: [
        &[
            "Pin down the symptom: the error, the inputs that trigger it, expected against actual behaviour",
            "Find the code where it surfaces and read it",
            "Trace the data and calls that lead there; note what you rule out",
        ],
        &[
            "Test your hypothesis against the code: does every symptom follow from it?",
            "Look at recent changes, state, concurrency and configuration that could explain it",
            "Drop hypotheses the evidence contradicts and record why",
        ],
        &[
            "Confirm the root cause with the exact file and line",
            "Work out the smallest fix and what it could break",
            "If there turns out to be no bug, say so with the evidence",
        ],
    ],
    finish_note: "The investigation is complete. Present the root cause, the evidence and the minimal fix to the user, with file and line references.",
    unlisted: &[],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/debug.txt"),
        task: "Find the root cause from this evidence: confirm or correct the agent's hypotheses, rank the likely causes, and give the minimal fix for each with file and line.",
        skip: Skip::Confidence("certain"),
        local_status: "certain_confidence_proceed_with_fix",
        skipped_as: "skipped_due_to_certain_confidence",
        thinkdeep_default: false,
    }),
};

static CODEREVIEW: Spec = Spec {
    name: "codereview",
    description: "Review code in steps, then get an expert model's review.",
    pause_status: "pause_for_code_review",
    complete_status: "code_review_complete",
    status_key: "code_review_status",
    summary_key: "complete_code_review",
    actions: [
        &[
            "Read the code under review and learn what it is for",
            "Map its structure: components, data flow, external inputs",
            "Note first concerns; record each real issue in issues_found with a severity",
        ],
        &[
            "Check correctness: logic, edge cases, error handling",
            "Check security (input handling, secrets, authorisation) and performance (complexity, I/O, allocation)",
            "Look for needless complexity and code that is hard to maintain",
        ],
        &[
            "Make sure every issue has a severity, a location and a concrete fix",
            "Note what is done well too",
        ],
    ],
    finish_note: "The code review is complete. Present the issues by severity, each with its location and fix, then agree with the user what to change.",
    unlisted: &["standards", "severity_filter"],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/codereview.txt"),
        task: "Review the code: confirm or reject the agent's issues, add what it missed, and give each issue a severity, location and fix, most severe first.",
        skip: Skip::Internal("review_validation_type"),
        local_status: "code_review_complete_ready_for_implementation",
        skipped_as: "skipped_due_to_internal_analysis_type",
        thinkdeep_default: false,
    }),
};

static PRECOMMIT: Spec = Spec {
    name: "precommit",
    description: "Check git changes in steps before committing, then get an expert model's verdict.",
    pause_status: "pause_for_validation",
    complete_status: "validation_complete",
    status_key: "validation_status",
    summary_key: "complete_validation",
    actions: [
        &[
            "Run git status and git diff yourself in path (staged and unstaged as asked, or against compare_to)",
            "List every changed file and read each change in context",
            "Put the changed files in relevant_files so the expert sees them",
        ],
        &[
            "Check each change for bugs, missing error handling, security problems and broken callers",
            "Check the changes do what was intended and nothing more; look for leftover debug code",
            "Check tests and documentation were updated to match",
        ],
        &[
            "Make sure each issue has a severity and a fix",
            "Decide whether the change is ready to commit",
        ],
    ],
    finish_note: "Pre-commit validation is complete. Present the issues by severity and say plainly whether the changes are ready to commit.",
    unlisted: &["include_staged", "include_unstaged", "severity_filter"],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/precommit.txt"),
        task: "Judge whether these changes are ready to commit: find bugs, regressions, security problems and incomplete work in them, with severity and fix, and give a verdict.",
        skip: Skip::Internal("precommit_type"),
        local_status: "validation_complete_ready_for_commit",
        skipped_as: "skipped_due_to_internal_analysis_type",
        thinkdeep_default: false,
    }),
};

static ANALYZE: Spec = Spec {
    name: "analyze",
    description: "Analyze code in steps, then get an expert model's assessment.",
    pause_status: "pause_for_analysis",
    complete_status: "analysis_complete",
    status_key: "analysis_status",
    summary_key: "complete_analysis",
    actions: [
        &[
            "Read the entry points and the main modules; learn what the system does",
            "Map components, their responsibilities and how they depend on each other",
        ],
        &[
            "Look at how it scales, performs and handles failure",
            "Find coupling, duplication and designs that fight the problem",
            "Note what works well and should be kept",
        ],
        &[
            "Rank your findings by impact on the system's goals",
            "Turn the most important ones into concrete recommendations",
        ],
    ],
    finish_note: "The analysis is complete. Present the findings ranked by impact, with concrete recommendations.",
    unlisted: &["confidence"],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/analyze.txt"),
        task: "Assess the code as analysed: confirm, correct and extend the findings, and give the recommendations that matter most, ranked by impact.",
        skip: Skip::Never,
        local_status: "analysis_complete_ready_for_implementation",
        skipped_as: "skipped_due_to_complete_analysis",
        thinkdeep_default: false,
    }),
};

static REFACTOR: Spec = Spec {
    name: "refactor",
    description: "Find refactorings in steps, then get an expert model's plan.",
    pause_status: "pause_for_refactoring_analysis",
    complete_status: "refactoring_analysis_complete",
    status_key: "refactoring_status",
    summary_key: "complete_refactoring",
    actions: [
        &[
            "Read the code and learn what it does and how it is used",
            "Note long functions, large classes, duplication and unclear names",
        ],
        &[
            "For each opportunity, find its exact location and the change it needs",
            "Check what depends on that code so the change stays safe",
            "Record each opportunity in issues_found with a severity",
        ],
        &[
            "Order the opportunities by value and risk",
            "Set confidence to complete only when nothing important is left",
        ],
    ],
    finish_note: "The refactoring analysis is complete. Present the opportunities in order of value, each with its location and the steps to carry it out safely.",
    unlisted: &["style_guide_examples"],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/refactor.txt"),
        task: "Give a refactoring plan for this code: confirm or correct the opportunities found, add missed ones, and order them by value and risk with concrete steps.",
        skip: Skip::Confidence("complete"),
        local_status: "refactoring_analysis_complete_ready_for_implementation",
        skipped_as: "skipped_due_to_complete_refactoring_confidence",
        thinkdeep_default: false,
    }),
};

static TESTGEN: Spec = Spec {
    name: "testgen",
    description: "Plan tests in steps, then have an expert model write them.",
    pause_status: "pause_for_test_analysis",
    complete_status: "test_generation_complete",
    status_key: "test_generation_status",
    summary_key: "complete_test_generation",
    actions: [
        &[
            "Read the code to test and its existing tests; find the test framework and conventions",
            "List the public behaviour that needs covering",
        ],
        &[
            "Trace each path: normal cases, boundaries, invalid input, errors",
            "Note dependencies to fake and state to set up",
        ],
        &["List the test cases, most valuable first, each with setup and expected result"],
    ],
    finish_note: "Test planning is complete. Write the tests in the project's framework and style, then run them.",
    unlisted: &[],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/testgen.txt"),
        task: "Write the tests this code needs, in the project's framework and style, covering the paths, edge cases and failures found and any the agent missed.",
        skip: Skip::Confidence("certain"),
        local_status: "test_generation_complete_ready_for_implementation",
        skipped_as: "skipped_due_to_certain_test_confidence",
        thinkdeep_default: false,
    }),
};

static SECAUDIT: Spec = Spec {
    name: "secaudit",
    description: "Audit security in steps, then get an expert model's findings.",
    pause_status: "pause_for_security_audit",
    complete_status: "security_audit_complete",
    status_key: "security_audit_status",
    summary_key: "complete_security_audit",
    actions: [
        &[
            "Identify the system's assets, entry points and trust boundaries",
            "Find where authentication, authorisation and secrets are handled",
        ],
        &[
            "Check input handling for injection, deserialisation and path traversal",
            "Check access control, session handling and cryptography",
            "Check dependencies, configuration and logging for exposure",
        ],
        &[
            "Give each vulnerability a severity, location and remediation",
            "Check the findings against the compliance requirements, if any",
        ],
    ],
    finish_note: "The security audit is complete. Present the vulnerabilities by severity, each with its location and remediation, most urgent first.",
    unlisted: &["compliance_requirements", "severity_filter"],
    kind: Kind::Expert(Expert {
        system_prompt: include_str!("../../../prompts/secaudit.txt"),
        task: "Audit this code's security: confirm or reject the agent's findings, add missed vulnerabilities, and give each a severity, location and remediation.",
        skip: Skip::Confidence("certain"),
        local_status: "security_analysis_complete",
        skipped_as: "skipped_due_to_certain_audit_confidence",
        thinkdeep_default: false,
    }),
};
