;; plain_missing: a plain component (no capsule:plugin) whose only import, the interface
;; `example:missing/thing`, no host provides: Capsule must refuse to load it and name that import
;; (issue #16, tests/e2e/test_plain_components.py). The component model's text format, assembled by
;; `jco parse` (make plugins); wit/plain-missing.wit is the same world in WIT.
(component
  ;; import example:missing/thing { poke: func() -> u32 }
  (import "example:missing/thing" (instance $thing
    (export "poke" (func (result u32)))))

  ;; The code: `run` calls `poke` and returns its answer.
  (core module $code
    (import "example:missing/thing" "poke" (func $poke (result i32)))
    (func (export "run") (result i32)
      call $poke))

  (core func $poke (canon lower (func $thing "poke")))
  (core instance $thing-core (export "poke" (func $poke)))
  (core instance $code (instantiate $code
    (with "example:missing/thing" (instance $thing-core))))

  ;; export run: func() -> u32
  (func $run (result u32) (canon lift (core func $code "run")))
  (export "run" (func $run)))
