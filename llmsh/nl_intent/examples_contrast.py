"""More templates for intents the model confuses, registered after the others.

The held-out errors come in pairs that share most of their words: ``jobs`` and
``history`` ("what have I ..."), ``restart``, ``resume`` and ``bg`` (a job
"again"), ``load``, ``unload`` and ``models rm`` (a model "in" or "out of"
memory, off the disk), ``devices``, ``free`` and ``ps`` (how loaded the
machine is). Each list below adds phrasings with other verbs and frames, so
the cue the model learns is the direction or the object, not one verb.

These lists continue the intents' own (indices go on from there), so every
fifth template here is held out like any other: those are kept ordinary.
No template here repeats a held-out template's wording.
"""

from __future__ import annotations

TEMPLATES: dict[str, list[str]] = {
    "jobs": [
        "which (jobs|tasks) have I (launched|kicked off|fired off) [so far]",
        "are any of my jobs still running",
        "(show|list) what I (launched|kicked off|set going) (earlier|before|in this shell)",
        "everything I've (launched|kicked off|set running) (in|from) this (session|shell)",
        "what's still going from (this session|my session|earlier)",
        "things I (started|launched) that are still going",
        "show the jobs of this shell",
        "(list|show) the (tasks|jobs) I've got going",
        "what did I (launch|start|kick off) {bg=in the background} (earlier|before)",
        "is anything I (launched|submitted) still (running|queued)",
        "what have I got (running|going) {bg=in the background}",
        "list my running and queued jobs",
        "what have I (launched|kicked off|set running|fired off) (today|so far|in here)",
    ],
    "ps": [
        "(show|tell me) what the (server|computer|box) is running right now",
        "which programs does this (computer|box|server) have going",
        "what processes (exist|are there) on this (computer|box|server)",
    ],
    "history": [
        "what (did|have) I (type|enter|write) (before|earlier|so far)",
        "(show|list) the commands I (typed|entered|ran) (earlier|before|today)",
        "which commands have I (used|run|entered)",
        "my typed commands",
        "what was my last command",
        "the lines I (typed|entered) (before|earlier)",
        "(show|list) everything I've typed",
    ],
    "restart": [
        "(have|take) another (shot|crack|attempt) at {id}",
        "try {id} one more time",
        "run {id} a second time",
        "{id} deserves another (attempt|run|try)",
        "start {id} from the beginning again",
        "make a fresh attempt at {id}",
        "one more (run|try|attempt) of {id}",
        "launch {id} once again",
        "(resubmit|requeue) {id} as a new job",
        "{id} didn't work, have another try",
        "(re-run|re-launch|re-execute) {id}",
        "reissue {id}",
        "restart {id} from scratch",
        "(requeue|reattempt) {id}",
        "have {id} run from the top again",
    ],
    "pause": [
        "hold {id} where it is",
        "keep {id} on hold (for now|until later)",
        "pause {id} until I'm back",
    ],
    "resume": [
        "turn {id} back on",
        "get {id} back up and running",
        "bring {id} back from (the pause|its pause|pause)",
        "{id} was paused, let it (continue|go on)",
        "end the pause on {id}",
        "switch {id} back on",
        "(release|lift) the hold on {id}",
        "unfreeze {id} and let it finish",
        "take {id} off pause",
        "let the suspended {id} continue",
        "have {id} pick up where it (left off|stopped)",
        "(carry on|go on) with {id} again",
        "let {id} (continue|proceed) again after the pause",
        "{id} is paused, (continue|resume) it",
        "unpause {id} and let it go on",
    ],
    "bg": [
        "have {id} carry on {bg=in the background}",
        "let {id} keep running {bg=in the background}",
        "(send|put) {id} back {bg=into the background}",
        "{id} can go on {bg=in the background} again",
        "take {id} off pause {bg=in the background}",
    ],
    "load": [
        "(bring|get) {model} (in|into) (ram|vram) [on {device}]",
        "have {model} sitting in memory",
        "I'll need {model} in memory soon",
        "load {model} ahead of time",
        "pin {model} in (memory|ram)",
    ],
    "unload": [
        "(ditch|chuck|toss|scrap) {model}, it needn't stay in (memory|ram|vram)",
        "{model} can leave memory now",
        "get {model} off the (gpu|cpu|device)",
        "(wipe|clear|empty) (ram|memory|vram) of {model}",
        "no need to keep {model} around in memory",
        "(shove|push|throw) {model} off the (gpu|accelerator)",
        "make {model} leave the gpu",
        "{model} should not stay (loaded|resident)",
        "(release|free) whatever memory {model} (uses|takes)",
        "I'm done with {model} for now, unload it",
    ],
    "models rm": [
        "(delete|erase|wipe) {model} off (the disk|my disk|disk|storage)",
        "remove {model} permanently",
        "(bin|scrap|ditch|toss) {model} (for good|from the store)",
        "(reclaim|free) the disk space taken by {model}",
        "{model} can go, delete its files",
        "get {model} off my disk",
        "delete the files of {model}",
        "(chuck|throw) out the {model} model for good",
    ],
    "finetune": [
        "train {model} on {data} using a lora of rank {rank}",
        "(a|one) rank {rank} lora for {model} on {data}",
        "fine tune {model} on {data} at lora rank {rank} with lr {lr}",
        "give {model} a lora adapter (of|with) rank {rank} trained on {data}",
        "finetune {model} on {data} with rank {rank} adapters",
    ],
    "devices": [
        "how hard (is|are) the (gpu|gpus|cpu) working",
        "is the (gpu|cpu) (maxed out|idle|under load|doing anything)",
        "what accelerators does this machine have",
        "how much of the (gpu|cpu) is in use",
        "(gpu|cpu|device) (activity|occupancy|busyness)",
        "are my gpus (occupied|working|idle)",
        "check how (hard|much) the gpus are (working|used)",
        "what is the cpu utilisation",
        "how (heavily|much) (is|are) the (gpu|gpus|cpu) (loaded|used) right now",
    ],
}
