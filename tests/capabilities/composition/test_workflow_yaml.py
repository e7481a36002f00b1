"""Workflows declared as YAML: the same graphs as the Python API, errors naming file and field."""

from __future__ import annotations

import textwrap

import pytest
from fakes import BagOfWordsEmbedder

from capabilities import Engine, RegistrationError, Registry, WorkflowError, load_workflows
from capabilities.composition.workflow import workflow_of
from capabilities.composition.workflow_yaml import workflow_from_data

HEADER = """
capabilities:
  - name: count_words
    function: fakes:word_count
    provides: {words: int}
"""


def write(tmp_path, body: str):
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(body))
    return path


@pytest.fixture
def registry() -> Registry:
    return Registry(embedder=BagOfWordsEmbedder())


def test_yaml_and_python_definitions_build_the_same_graph(registry):
    data = {
        "name": "flow",
        "steps": [
            "a",
            {"parallel": ["b", ["c", {"step": "d", "inputs": {"p": "q"}, "outputs": {"r": "s"}}]]},
            {"branch": {"when": "not errors", "then": ["e"], "otherwise": [{"step": "f"}]}},
        ],
    }
    wf = workflow_from_data(data)
    assert wf.outline() == [
        "a",
        {"parallel": ["b", ["c", "d"]]},
        {"branch": "not errors", "then": ["e"], "otherwise": ["f"]},
    ]
    d = wf.steps[1].branches[1][1]
    assert dict(d.inputs) == {"p": "q"} and dict(d.outputs) == {"r": "s"}


def test_loads_capabilities_and_workflows_from_a_file(registry, tmp_path):
    from fakes import word_count  # noqa: F401  (the dotted path target must import)

    path = write(
        tmp_path,
        HEADER
        + """
workflows:
  - name: counting
    intent: Count the words of a text
    steps:
      - step: count_words
        outputs: {words: n_words}
""",
    )
    (cap,) = load_workflows(path, registry)
    assert registry.get("counting") is cap
    assert workflow_of(cap).name == "counting"
    result = Engine(registry).run("counting", {"text": "one two three"})
    assert result.outputs == {"n_words": 3}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("workflows: {name: x}", "flow.yaml: workflows: expected a list"),
        ("workflows:\n  - steps: [a]", "flow.yaml: workflows[0]: missing required key 'name'"),
        ("workflows:\n  - {name: x, steps: []}", "workflows[0].steps: expected a non-empty list"),
        (
            "workflows:\n  - {name: x, steps: [{stp: a}]}",
            "workflows[0].steps[0]: expected one of the keys",
        ),
        (
            "workflows:\n  - {name: x, steps: [{step: a, inputs: [p]}]}",
            "workflows[0].steps[0].inputs: expected a mapping",
        ),
        (
            "workflows:\n  - {name: x, steps: [{parallel: [a]}]}",
            "workflows[0].steps[0].parallel: needs at least two branches",
        ),
        (
            "workflows:\n  - {name: x, steps: [{branch: {then: [a]}}]}",
            "workflows[0].steps[0].branch: missing required key 'when'",
        ),
        (
            "workflows:\n  - {name: x, steps: [{branch: {when: 'open(1)', then: [a]}}]}",
            "workflows[0].steps[0].branch.when: condition 'open(1)'",
        ),
        (
            "workflows:\n  - {name: x, stepz: [a], steps: [a]}",
            "workflows[0]: unknown key(s) ['stepz']",
        ),
        ("workflowz: []", "unknown top-level key"),
        ("capabilities:\n  - {name: c, function: nowhere.fn}\nworkflows: []", "capabilities[0]"),
        ("workflows: [\n", "invalid YAML"),
    ],
)
def test_malformed_files_name_file_and_field(registry, tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(RegistrationError) as err:
        load_workflows(path, registry)
    assert message in str(err.value)
    assert "flow.yaml" in str(err.value)


def test_contract_errors_name_file_workflow_step_and_field(registry, tmp_path):
    path = write(
        tmp_path,
        HEADER
        + """
workflows:
  - name: broken
    requires: [text]
    steps:
      - count_words
      - step: count_words
        inputs: {text: missing_field}
""",
    )
    with pytest.raises(WorkflowError) as err:
        load_workflows(path, registry)
    e = err.value
    assert e.capability == "broken" and e.field == "missing_field" and e.step == "count_words"
    assert e.path.endswith("flow.yaml: workflows[0].steps[1]")
    assert "missing_field" in str(e) and "flow.yaml" in str(e)


def test_missing_file_is_named(registry, tmp_path):
    with pytest.raises(RegistrationError, match=r"nope\.yaml: cannot read"):
        load_workflows(tmp_path / "nope.yaml", registry)
