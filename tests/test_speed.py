"""zoo.speed's description of the machine a timing ran on."""

from zoo import speed

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
flags\t\t: fpu sse4_2 avx avx2 fma avx512f avx512_bf16 avx512bw
processor\t: 1
cpu family\t: 99
flags\t\t: avx2
"""


def test_cpu_features_reads_family_model_and_vector_units(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    fields = speed.first_cpuinfo_entry(path)
    assert fields["cpu family"] == "25" and speed.cpu_name(fields) == "AMD EPYC"  # the first processor's
    features = speed.cpu_features(fields)
    assert features == {"cpu_family": 25, "cpu_model": 17, "vector_extensions": ["avx2", "fma", "avx512f", "avx512_bf16"]}
    described = speed.describe_cpu({"cpu": "AMD EPYC", **features})
    assert described == "AMD EPYC (family 25 model 17; avx2, fma, avx512f, avx512_bf16)"


def test_cpu_features_say_none_where_the_system_does_not(tmp_path):
    assert speed.first_cpuinfo_entry(tmp_path / "missing") == {}
    assert speed.cpu_features({}) == {"cpu_family": None, "cpu_model": None, "vector_extensions": None}
    path = tmp_path / "cpuinfo"
    path.write_text("model name\t: Some ARM\nflags\t: neon\n")
    features = speed.cpu_features(speed.first_cpuinfo_entry(path))
    assert features["vector_extensions"] == [] and features["cpu_family"] is None
    assert speed.describe_cpu({"cpu": "Some ARM", **features}) == "Some ARM (no AVX2)"
    assert speed.describe_cpu({"cpu": "Old record"}) == "Old record"  # results from before the fields


def test_machine_info_carries_the_cpu_features():
    info = speed.machine_info()
    assert {"cpu_family", "cpu_model", "vector_extensions"} <= set(info) and info["cores"] >= 1
