;; The base64 alphabet check, in WebAssembly with 128-bit SIMD (see ./base64.ts, which holds the compiled
;; bytes in ./base64-alphabet.wasm.ts: after editing this file, run `npm run build:wasm`).
;;
;; inAlphabet(ptr, len): 1 when every byte of memory[ptr, ptr + len) is one of A-Z a-z 0-9 + /, else 0.
;; Sixteen bytes per step: a byte is in the alphabet when (b - 'A') < 26, (b - 'a') < 26 or (b - '/') < 11
;; (unsigned: '/' and 0-9) or b = '+'; the lanes' answers are ANDed across the whole range and read once at
;; the end. The last len mod 16 bytes are checked one at a time by the same rule.
(module
  (memory (export "memory") 1)
  (func (export "inAlphabet") (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $v v128) (local $acc v128) (local $c i32)
    (local.set $acc (v128.const i8x16 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1 -1))
    (local.set $end (i32.add (local.get $ptr) (i32.and (local.get $len) (i32.const -16))))
    (block $done
      (loop $simd
        (br_if $done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $v (v128.load (local.get $ptr)))
        (local.set $acc (v128.and (local.get $acc)
          (v128.or
            (v128.or
              (i8x16.lt_u (i8x16.sub (local.get $v) (i8x16.splat (i32.const 65))) (i8x16.splat (i32.const 26)))
              (i8x16.lt_u (i8x16.sub (local.get $v) (i8x16.splat (i32.const 97))) (i8x16.splat (i32.const 26))))
            (v128.or
              (i8x16.lt_u (i8x16.sub (local.get $v) (i8x16.splat (i32.const 47))) (i8x16.splat (i32.const 11)))
              (i8x16.eq (local.get $v) (i8x16.splat (i32.const 43)))))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 16)))
        (br $simd)))
    (local.set $end (i32.add (local.get $end) (i32.and (local.get $len) (i32.const 15))))
    (block $tail_done
      (loop $tail
        (br_if $tail_done (i32.ge_u (local.get $ptr) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $ptr)))
        (if (i32.eqz (i32.or
              (i32.or (i32.lt_u (i32.sub (local.get $c) (i32.const 65)) (i32.const 26))
                      (i32.lt_u (i32.sub (local.get $c) (i32.const 97)) (i32.const 26)))
              (i32.or (i32.lt_u (i32.sub (local.get $c) (i32.const 47)) (i32.const 11))
                      (i32.eq (local.get $c) (i32.const 43)))))
          (then (return (i32.const 0))))
        (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
        (br $tail)))
    (i8x16.all_true (local.get $acc)))
)
