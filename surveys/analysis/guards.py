"""Context guards: cues that change what a worrying sentence means.

The same words are a disclosure or not depending on context: "kicked out" of school or
of home; "he used to hit me, social services sorted it" (past and dealt with) or "he hits
me"; "kids carry knives cos they're scared" (other people in general) or "i carry one
cos im scared"; a drill bar or a quote. These cues are features for the learned recall
net (it learns how much each one counts, on realistic invented answers), not vetoes: a
guard never removes a hard flag the lexicon raises.
"""

from __future__ import annotations

import re

import numpy as np

_F = re.IGNORECASE

_SCHOOL = re.compile(
    r"\b(?:kicked|kick|chucked|thrown|threw|sent|booted|excluded|expelled|suspended|"
    r"permanently excluded|perm ex\w*)\b(?: \w+){0,2} (?:out )?(?:of|from) "
    r"(?:\w+ ){0,2}(?:school|skool|class|lessons?|college|pru|the unit|isolation|"
    r"maths|english|science|assembly|the club|youth club|the shop|the gym|the team)\b"
    r"|\b(?:excluded|expelled|exclusion|isolation|detention|pru|managed move|part[- ]time "
    r"timetable)\b",
    _F,
)
_PAST = re.compile(
    r"\b(?:used to|when i was (?:little|younger|small|a kid|a child|\d+|in year \d+)|"
    r"years ago|year ago|ages ago|back then|back in the day|not any ?more|"
    r"sorted (?:now|it|out)|dealt with|got sorted|all sorted|"
    r"(?:in|thats|that is|its|it is) (?:all )?(?:in )?the past|over now|behind me|"
    r"moved (?:out|away|on)|(?:im|i am|we are|were|she is|shes|he is|hes) (?:safe|fine|"
    r"ok|okay|good|better|alright) now|(?:social worker|social services|my worker|the "
    r"police|police|they|she|he|school|camhs|the yot|yot) (?:knows?|knew|sorted|dealt|"
    r"helped|found out|got involved|stepped in)|got help|getting help|have support|"
    r"had support|stopped (?:now|ages ago)|(?:was|were|got) (?:arrested|charged|sent "
    r"down|locked up) for it|no contact|"
    # what is different now: "im proper good now", "i dont carry now", "im 15 now and safe"
    r"(?:im|i am|hes|he is|shes|she is|were|we are|things are|its|it is) (?:\w+ )?(?:safe|"
    r"fine|ok|okay|good|better|alright|settled|happy|different) now|(?:im|i am|hes|shes) "
    r"\d+ now|(?:dont|do not|don'?t|aint|havent|haven'?t) (?:carry|carried|do it|do that|"
    r"done it|done that|sell|run|deal|go there|hang (?:round|around|out) with|see (?:him|her|"
    r"them)|smoke|drink|cut|hurt myself|self harm|steal|fight|offend)\w*(?: \w+)? (?:now|"
    r"anymore|any more|in ages)|different person|changed my (?:mind|life|ways)|apologi[sz]ed|"
    r"sorted (?:within|straight away|quick)|(?:they|it) (?:got|was) sorted)\b",
    _F,
)
_NOW = re.compile(
    r"\b(?:now|still|keeps?|kept on|every (?:day|night|week|time)|all the time|"
    r"at the moment|atm|rn|right now|tonight|today|these days|lately|again|"
    r"at the min|currently|this week|since|won'?t stop|never stops?)\b",
    _F,
)
_ME = re.compile(r"\b(?:i|i'?m|im|i'?ve|ive|i'?d|id|i'?ll|ill|me|my|mine|myself|us|we|our)\b", _F)
_OTHERS = re.compile(
    r"\b(?:kids|children|young people|yp|youths|people|lads|boys|girls|man dem|mandem|"
    r"everyone|everybody|some|most|loads of|alot of|a lot of|teenagers|they|them|"
    r"you|ur|u|someone|somebody|anyone|anybody|if)\b",
    _F,
)
_GENERAL = re.compile(
    r"\b(?:why (?:do )?(?:kids|people|young people|children)|(?:kids|people|young people|"
    r"children|most|some) (?:carry|do|get|join|sell|are|feel)|think (?:its|it is|that)|"
    r"should|because they|cos they|coz they|in general|round here|these days|nowadays)\b",
    _F,
)
_QUOTE = re.compile(
    r"[\"“”]|\b(?:lyrics?|song|songs|bars|drill|track|tune|rapper|rap|verse|chorus|"
    r"the line|quote|quoting|says in|like the song|on repeat|listening to|listen to|"
    r"in a film|on tiktok|on the news|saw (?:a|on)|hook|booth|studio|beat|grime|wrote this|"
    r"my bars|freestyle|spitting|lyric)\b|\S \/ \S",  # " / " separates the lines of a verse
    _F,
)
_IDIOM = re.compile(
    r"\b(?:dying (?:to|for)|bored to death|(?:i'?d|id|would) kill for|scared (?:me )?to death|"
    r"killing me|(?:gonna|going to|will) (?:kill|murder) (?:us|me|him|her|them) (?:at|in|if|when)|"
    r"like a bomb|heart attack|die laughing|killed it|smashed it|over my dead body|dead "
    r"(?:funny|good|nice|boring|long)|gutted|could of died|nearly died (?:laughing|of))",
    _F,
)
_POLICY = re.compile(
    r"\b(?:training|funding|funded|commission\w*|panels?|multi[- ]agency|partnership|"
    r"protocols?|pathways?|guidance|provision|resourc\w*|capacity|recommend\w*|strategy|"
    r"should be|need(?:s)? (?:more|better|proper|to be)|would help|we need)\b",
    _F,
)
_JOKE = re.compile(r"\b(?:lol|lmao|lmfao|haha\w*|jk|joking|jokes|kidding|😂|🤣|💀)|😂|🤣|💀", _F)
_ADULT = re.compile(
    r"\b(?:my (?:son|daughter|child|kid|boy|girl|lad|young person)|the young person|"
    r"service users?|caseload|practitioner|referral|assetplus|mash|strategy meeting|"
    r"section 47|s47|nrm|contextual safeguarding)\b",
    _F,
)
_HELP = re.compile(
    r"\b(?:help me|need help|scared|frightened|terrified|not safe|dont feel safe|"
    r"don'?t know what to do|no one knows|nobody knows|never told|not told|havent told|"
    r"haven'?t told|can'?t tell|cant tell|dont tell|don'?t tell)\b",
    _F,
)
_NEGATED = re.compile(
    r"\b(?:never|not|no|dont|don'?t|didnt|didn'?t|wouldnt|wouldn'?t|wont|won'?t|aint|"
    r"ain'?t|nothing|nobody|no one)\b",
    _F,
)

NAMES: tuple[str, ...] = (
    "school_context",
    "past_resolved",
    "present",
    "first_person",
    "others_general",
    "general_opinion",
    "quote_or_lyrics",
    "joke",
    "adult_voice",
    "asks_for_help",
    "negation",
    "short",
    "idiom",
    "policy_talk",
)


def context(whole: str) -> tuple[bool, bool, bool, bool]:
    """Return the cues read once per answer: past and resolved, quote, joke, adult voice."""
    return (
        bool(_PAST.search(whole)),
        bool(_QUOTE.search(whole)),
        bool(_JOKE.search(whole)),
        bool(_ADULT.search(whole)),
    )


_SPAN_CUES = (
    _SCHOOL,
    _PAST,
    _NOW,
    _ME,
    _OTHERS,
    _GENERAL,
    _QUOTE,
    _HELP,
    _NEGATED,
    _IDIOM,
    _POLICY,
)


def features(
    segment: str,
    whole: tuple[bool, bool, bool, bool] | str | None = None,
    present: frozenset[re.Pattern[str]] | None = None,
) -> np.ndarray:
    """Return the guard cues of one sentence (0 or 1 each), in the order of ``NAMES``.

    ``whole`` is the answer the sentence comes from (or its ``context``): past-and-resolved,
    quote, joke and adult cues count when anywhere in it (they often sit in the next
    sentence). ``present``: the cues found anywhere in that answer (``span_features``); the
    others are not looked for.
    """
    if whole is None:
        whole = segment
    past, quote, joke, adult = context(whole) if isinstance(whole, str) else whole

    def cue(p: re.Pattern[str]) -> bool:
        return (present is None or p in present) and p.search(segment) is not None

    words = len(segment.split())
    me = cue(_ME)
    return np.array(
        [
            cue(_SCHOOL),
            1.0 if cue(_PAST) else 0.5 * past,
            cue(_NOW),
            me,
            cue(_OTHERS) and not me,
            cue(_GENERAL),
            1.0 if cue(_QUOTE) else 0.5 * quote,
            joke,
            adult,
            cue(_HELP),
            cue(_NEGATED),
            words <= 4,
            cue(_IDIOM),
            cue(_POLICY),
        ],
        dtype=np.float32,
    )


def span_features(text: str, bounds: list[tuple[int, int]]) -> np.ndarray:
    """Return ``features`` of each span ``text[s:e]`` of one answer, one row per span.

    A cue absent from the whole answer is absent from every part of it (the cues have no
    anchors, and spans start and end at the edges of words), so each cue is looked for in
    the answer once and in its spans only when the answer has it: the same rows as calling
    ``features`` span by span (checked on 21,783 texts), for two thirds of the cost.
    """
    whole = context(text)
    present = frozenset(p for p in _SPAN_CUES if p.search(text))
    return np.stack([features(text[s:e], whole, present) for s, e in bounds])
