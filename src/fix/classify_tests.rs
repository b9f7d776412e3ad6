use super::*;

fn ev<'a>(model: &'a str, stderr: &'a str) -> Evidence<'a> {
    Evidence {
        model,
        timed_out: false,
        signal: None,
        texts: vec![stderr],
    }
}

fn class_of(stderr: &str) -> FailureClass {
    classify_evidence(&ev("vace_14B", stderr)).0
}

const OOM_TORCH: &str = r#"Traceback (most recent call last):
  File "/srv/worker/test_model_comparison.py", line 212, in <module>
    main()
  File "/srv/worker/Wan2GP/models/wan/any2video.py", line 588, in generate
    x = self.model(latent, t=timestep, **kwargs)
  File "/usr/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1751, in _wrapped_call_impl
    return self._call_impl(*args, **kwargs)
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.10 GiB of which 1.2 GiB is free. Including non-PyTorch memory, this process has 77.85 GiB memory in use.
"#;

#[test]
fn torch_out_of_memory_error() {
    let (class, message) = classify_evidence(&ev("vace_14B", OOM_TORCH));
    assert_eq!(class, FailureClass::OutOfMemory);
    assert!(message.starts_with("torch.OutOfMemoryError: CUDA out of memory."));
}

#[test]
fn runtime_cuda_error_out_of_memory() {
    let log = "Traceback (most recent call last):\n  File \"wgp.py\", line 10, in <module>\n    t = torch.empty(n, device='cuda')\nRuntimeError: CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.\nFor debugging consider passing CUDA_LAUNCH_BLOCKING=1\n";
    assert_eq!(class_of(log), FailureClass::OutOfMemory);
    assert_eq!(
        class_of("RuntimeError: CUDA out of memory. Tried to allocate 512.00 MiB"),
        FailureClass::OutOfMemory
    );
}

#[test]
fn oom_wins_over_a_later_cascade() {
    let log = format!(
        "{OOM_TORCH}\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"run.py\", line 3, in <module>\nFileNotFoundError: [Errno 2] No such file or directory: '/out/run-1/vace_short/video.mp4'\n"
    );
    assert_eq!(class_of(&log), FailureClass::OutOfMemory);
}

#[test]
fn oom_signatures_ignore_numbers() {
    let a = classify_evidence(&ev("m", OOM_TORCH));
    let other = OOM_TORCH
        .replace("2.00 GiB", "512.00 MiB")
        .replace("1.2 GiB", "300.5 MiB")
        .replace("79.10", "139.81")
        .replace("77.85", "138.2");
    let b = classify_evidence(&ev("m", &other));
    assert_ne!(a.1, b.1);
    assert_eq!(signature(&a.0, &a.1), signature(&b.0, &b.1));
    assert!(signature(&a.0, &a.1).starts_with("out-of-memory: "));
}

#[test]
fn different_classes_have_different_signatures() {
    let m = "No module named 'x'";
    assert_ne!(
        signature(&FailureClass::OutOfMemory, m),
        signature(&FailureClass::Unknown, m)
    );
}

#[test]
fn signatures_strip_paths_and_addresses_but_keep_file_names() {
    let c = FailureClass::MissingInput {
        path: "x".to_owned(),
    };
    let a = signature(
        &c,
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/run-17/case/guide.y4m' at 0x7f3a2b",
    );
    let b = signature(
        &c,
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/run-99/other/guide.y4m' at 0x10",
    );
    assert_eq!(a, b);
    assert_eq!(
        a,
        "missing-input: FileNotFoundError: [Errno <n>] No such file or directory: '<path>/guide.y4m' at <hex>"
    );
    let c2 = signature(
        &c,
        "FileNotFoundError: [Errno 2] No such file or directory: '/tmp/run-99/other/mask.png' at 0x10",
    );
    assert_ne!(a, c2);
}

#[test]
fn missing_input_file() {
    let log = "Traceback (most recent call last):\n  File \"/w/test_model_comparison.py\", line 88, in load_guide\n    with open(path, 'rb') as f:\nFileNotFoundError: [Errno 2] No such file or directory: 'samples/video.y4m'\n";
    assert_eq!(
        class_of(log),
        FailureClass::MissingInput {
            path: "samples/video.y4m".to_owned()
        }
    );
    assert_eq!(
        class_of("ValueError: Input video not found: inputs/guide.mp4"),
        FailureClass::MissingInput {
            path: "inputs/guide.mp4".to_owned()
        }
    );
}

#[test]
fn missing_model_config() {
    let log = "Traceback (most recent call last):\n  File \"Wan2GP/wgp.py\", line 1900, in get_model_def\n    with open(f\"defaults/{model_type}.json\") as f:\nFileNotFoundError: [Errno 2] No such file or directory: 'defaults/vace_14B.json'\n";
    assert_eq!(
        class_of(log),
        FailureClass::ModelConfigMissing {
            name: "vace_14B".to_owned()
        }
    );
    assert_eq!(
        class_of("KeyError: 'vace_14B'"),
        FailureClass::ModelConfigMissing {
            name: "vace_14B".to_owned()
        }
    );
    assert_eq!(class_of("KeyError: 'seed'"), FailureClass::Unknown);
    assert_eq!(
        class_of("ValueError: Unknown model type 'vace_1.3B'"),
        FailureClass::ModelConfigMissing {
            name: "vace_1.3B".to_owned()
        }
    );
}

#[test]
fn missing_module() {
    let log = "Traceback (most recent call last):\n  File \"/w/headless_wgp.py\", line 3, in <module>\n    import mmgp.offload\nModuleNotFoundError: No module named 'mmgp'\n";
    assert_eq!(
        class_of(log),
        FailureClass::MissingModule {
            module: "mmgp".to_owned()
        }
    );
}

#[test]
fn api_drift_kinds() {
    let log = "Traceback (most recent call last):\n  File \"/w/headless_wgp.py\", line 41, in run\n    wgp.generate_video(task, num_frames=81)\nTypeError: generate_video() got an unexpected keyword argument 'num_frames'\n";
    assert_eq!(
        class_of(log),
        FailureClass::ApiDrift {
            drift: DriftKind::UnexpectedKeyword {
                func: "generate_video".to_owned(),
                keyword: "num_frames".to_owned()
            }
        }
    );
    assert_eq!(
        class_of("TypeError: WanAny2V.generate() got an unexpected keyword argument 'frame_num'"),
        FailureClass::ApiDrift {
            drift: DriftKind::UnexpectedKeyword {
                func: "WanAny2V.generate".to_owned(),
                keyword: "frame_num".to_owned()
            }
        }
    );
    assert_eq!(
        class_of("AttributeError: module 'wgp' has no attribute 'get_default_settings'"),
        FailureClass::ApiDrift {
            drift: DriftKind::MissingAttribute {
                module: "wgp".to_owned(),
                name: "get_default_settings".to_owned()
            }
        }
    );
    assert_eq!(
        class_of(
            "ImportError: cannot import name 'WanT2V' from 'models.wan.text2video' (/w/Wan2GP/models/wan/text2video.py)"
        ),
        FailureClass::ApiDrift {
            drift: DriftKind::CannotImport {
                module: "models.wan.text2video".to_owned(),
                name: "WanT2V".to_owned()
            }
        }
    );
}

#[test]
fn last_exception_wins() {
    let log = "Warning: FileNotFoundError: [Errno 2] No such file or directory: 'x.y4m'\nModuleNotFoundError: No module named 'decord'\n";
    assert_eq!(
        class_of(log),
        FailureClass::MissingModule {
            module: "decord".to_owned()
        }
    );
}

#[test]
fn conflict_markers() {
    let log = "  File \"/w/Wan2GP/wgp.py\", line 120\n    <<<<<<< ours\n    ^^\nSyntaxError: invalid syntax\n";
    assert_eq!(
        class_of(log),
        FailureClass::LocalModConflict {
            files: vec!["/w/Wan2GP/wgp.py".to_owned()]
        }
    );
}

#[test]
fn timeout_and_signals() {
    let mut e = ev("m", "step 3/30\n");
    e.timed_out = true;
    assert_eq!(classify_evidence(&e).0, FailureClass::Timeout);
    let mut e = ev("m", "step 3/30\n");
    e.signal = Some(11);
    let (class, message) = classify_evidence(&e);
    assert_eq!(class, FailureClass::CrashSignal { signal: 11 });
    assert_eq!(message, "killed by signal 11 (SIGSEGV)");
    // A CUDA OOM printed before a crash is still an OOM.
    let mut e = ev("m", OOM_TORCH);
    e.signal = Some(6);
    assert_eq!(classify_evidence(&e).0, FailureClass::OutOfMemory);
}

#[test]
fn unknown_keeps_the_exception_line() {
    let (class, message) = classify_evidence(&ev(
        "m",
        "Traceback (most recent call last):\nValueError: bad shape (3, 4)\nexiting\n",
    ));
    assert_eq!(class, FailureClass::Unknown);
    assert_eq!(message, "ValueError: bad shape (3, 4)");
}

fn case(status: CaseStatus, exit: Option<Exit>, stderr: &str) -> CaseResult {
    CaseResult {
        name: "vace_short".into(),
        model: "vace_14B".into(),
        params: serde_json::json!({"video_length": 81})
            .as_object()
            .unwrap()
            .clone(),
        settings_hash: "0123abcd".into(),
        status,
        exit,
        duration_s: 3.0,
        peak_vram: crate::gpu::VramPeak::Unavailable {
            reason: "no GPU".into(),
        },
        outputs: Vec::new(),
        error: Some(match exit {
            Some(e) => e.to_string(),
            None => "cannot start".into(),
        }),
        stdout_tail: "step 1/30\n".into(),
        stderr_tail: stderr.into(),
        log_dir: "/out/run-1/vace_short".into(),
        log_truncated: false,
        stray_writes: Vec::new(),
        quality: Vec::new(),
        thresholds: Default::default(),
        canary: None,
        job_failure: None,
        target: None,
        hardware: None,
    }
}

#[test]
fn classify_reads_case_results() {
    let f = classify(&case(CaseStatus::TimedOut, Some(Exit::TimedOut), ""));
    assert_eq!(f.class, FailureClass::Timeout);
    assert_eq!(f.case, "vace_short");
    assert_eq!(
        f.signature,
        "timeout: the case ran past its time limit and was stopped"
    );

    let f = classify(&case(CaseStatus::Crashed, Some(Exit::Signal(9)), ""));
    assert_eq!(f.class, FailureClass::CrashSignal { signal: 9 });
    assert_eq!(f.message, "killed by signal 9 (SIGKILL)");

    let f = classify(&case(CaseStatus::Failed, Some(Exit::Code(1)), OOM_TORCH));
    assert_eq!(f.class, FailureClass::OutOfMemory);
    assert_eq!(f.params["video_length"], 81);
    assert!(f.detail.contains("torch.OutOfMemoryError"));
    assert_eq!(f.log_dir, std::path::PathBuf::from("/out/run-1/vace_short"));

    // The runner's own error counts too (e.g. a results file's error text).
    let mut c = case(CaseStatus::Failed, Some(Exit::Code(0)), "");
    c.error = Some("ModuleNotFoundError: No module named 'decord'".into());
    assert_eq!(
        classify(&c).class,
        FailureClass::MissingModule {
            module: "decord".into()
        }
    );
    let mut c = case(CaseStatus::Failed, Some(Exit::Code(3)), "");
    c.stdout_tail = String::new();
    let f = classify(&c);
    assert_eq!(f.class, FailureClass::Unknown);
    assert_eq!(f.message, "exit code 3");
}

#[test]
fn comfy_workflow_validation_errors() {
    let missing = "Traceback (most recent call last):\n  File \"studio/run.py\", line 9\nValueError: Prompt outputs failed validation: KSamplerMini 5: Required input is missing: denoise\n";
    let (class, message) = classify_evidence(&ev("t2i", missing));
    assert_eq!(
        class,
        FailureClass::WorkflowValidation {
            class_type: "KSamplerMini".into(),
            node: "5".into(),
            input: "denoise".into(),
            problem: WorkflowProblem::RequiredInputMissing,
        }
    );
    // The same failure at another node id has the same signature.
    let other = missing.replace("KSamplerMini 5:", "KSamplerMini 12:");
    let (class2, message2) = classify_evidence(&ev("t2i", &other));
    assert_eq!(signature(&class, &message), signature(&class2, &message2));
    assert_eq!(
        signature(&class, &message),
        "workflow-validation: ValueError: Prompt outputs failed validation: KSamplerMini <n>: Required input is missing: denoise"
    );

    let unexpected =
        "Prompt outputs failed validation: VHS_VideoCombine 7: unexpected input 'frame_rate'";
    assert_eq!(
        class_of(unexpected),
        FailureClass::WorkflowValidation {
            class_type: "VHS_VideoCombine".into(),
            node: "7".into(),
            input: "frame_rate".into(),
            problem: WorkflowProblem::UnexpectedInput,
        }
    );
}

#[test]
fn a_job_past_its_memory_limit_is_host_oom_and_a_node_failure_is_infrastructure() {
    use crate::baseline::{JobFailure, JobFailureKind};
    let mut c = case(CaseStatus::Failed, None, "Killed");
    c.error = Some("host out of memory: job 8 exceeded its Slurm memory limit".into());
    c.job_failure = Some(JobFailure {
        job: "8".into(),
        state: "FAILED".into(),
        kind: JobFailureKind::HostOutOfMemory,
    });
    assert_eq!(classify(&c).class, FailureClass::HostOutOfMemory);
    c.job_failure = Some(JobFailure {
        job: "9".into(),
        state: "NODE_FAIL".into(),
        kind: JobFailureKind::Infrastructure,
    });
    let f = classify(&c);
    assert!(f.class.is_infrastructure(), "{f:?}");
    assert_eq!(f.class.name(), "infrastructure");
}
