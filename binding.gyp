# The native kernels (native/*.c): N-API in C11, BLAS from OpenBLAS on Linux
# (found with pkg-config, else the usual include folders and -lopenblas) and
# from Accelerate on macOS. No -march=native and no -ffast-math: hot loops
# carry target_clones (AVX2+FMA or baseline, chosen at load time) and softmax
# must keep IEEE inf/NaN behaviour (-fno-trapping-math only lets branch-free
# selects vectorise; no code here reads the FP exception flags). Built by scripts/build-native.mjs.
{
  "targets": [
    {
      "target_name": "fedplora",
      "sources": [
        "native/addon.c",
        "native/args.c",
        "native/pool.c",
        "native/gemm.c",
        "native/gemm-avx512.c",
        "native/gemm-bf16.c",
        "native/embedding.c",
        "native/norm.c",
        "native/rope.c",
        "native/attention.c",
        "native/mlp.c",
        "native/loss.c",
        "native/elementwise.c",
        "native/optim.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags!": ["-O2", "-O3", "-Os", "-ffast-math"],
      "cflags_c": [
        "-std=c11",
        "-O3",
        "-fno-math-errno",
        "-fno-trapping-math",
        "-ffp-contract=fast",
        "-fopenmp-simd",
        "-fvisibility=hidden",
        "-pthread",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "conditions": [
        ["OS=='mac'", {
          "libraries": ["-framework Accelerate"],
          "xcode_settings": {
            "GCC_OPTIMIZATION_LEVEL": "3",
            "OTHER_CFLAGS": ["-std=c11", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=fast", "-fopenmp-simd"]
          }
        }, {
          "cflags_c": ["<!@(pkg-config --cflags openblas 2>/dev/null || true)"],
          "include_dirs": [
            "/usr/include/x86_64-linux-gnu/openblas-pthread",
            "/usr/include/aarch64-linux-gnu/openblas-pthread",
            "/usr/include/openblas"
          ],
          "libraries": ["<!@(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)", "-pthread", "-lm"]
        }]
      ]
    }
  ]
}
