"""Promises of the safeguarding detector (surveys.analysis.disclosure)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from surveys.analysis.disclosure import (
    CATEGORIES,
    Lexicon,
    LexiconError,
    _unrolled,
    check,
    default_lexicon,
    normalise,
)

DATA = Path(__file__).parent / "data"


def _load(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def _score(rows: list[dict]) -> tuple[float, float, list[str]]:
    tp = fn = fp = tn = 0
    missed = []
    for row in rows:
        flag = check(row["text"]).flag
        if row["flag"]:
            tp += flag
            fn += not flag
            if not flag:
                missed.append(row["id"])
        else:
            fp += flag
            tn += not flag
    return tp / (tp + fn), fp / (fp + tn), missed


def test_dev_set_is_big_enough_and_covers_every_category():
    rows = _load("safeguard_dev.jsonl")
    assert len(rows) >= 150
    # harm_by_professional came later, with the realistic sets in data/voice.
    assert {c for r in rows for c in r["categories"]} == set(CATEGORIES) - {"harm_by_professional"}
    assert sum(not r["flag"] for r in rows) >= 50
    voice = _load("voice/disclosures_w1.jsonl")
    assert {c for r in voice for c in r["categories"]} == set(CATEGORIES)


@pytest.mark.parametrize(
    "text, category",
    [
        ("the police knelt on my neck and laughed", "harm_by_professional"),
        ("staff there beat me", "harm_by_professional"),
        ("i got battered by the feds in the cell", "harm_by_professional"),
        ("took a load of tablets last night", "self_harm"),
        ("not gonna be around much longer tbh", "suicidal"),
    ],
)
def test_lexicon_knows_harm_by_professionals_and_indirect_wording(text, category):
    assert category in check(text).categories


@pytest.mark.parametrize(
    "text",
    [
        "the police never hit me, they were alright",
        "i took 2 paracetamol for my headache",
        "i wont be around next week cos of court",
    ],
)
def test_lexicon_leaves_these_alone(text):
    assert not check(text).flag


@pytest.mark.parametrize("name", ["safeguard_dev.jsonl", "safeguard_holdout.jsonl"])
def test_no_disclosure_is_missed_and_false_alarms_stay_rare(name):
    recall, false_alarms, missed = _score(_load(name))
    assert recall == 1.0, missed
    assert false_alarms <= 0.10


def test_flagged_dev_answers_name_the_labelled_category():
    rows = [r for r in _load("safeguard_dev.jsonl") if r["flag"]]
    hits = sum(bool(set(r["categories"]) & set(check(r["text"]).categories)) for r in rows)
    assert hits / len(rows) >= 0.95


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("kms", "suicidal"),
        ("honestly i might just kms lol", "suicidal"),
        ("i wanna unalive myself", "suicidal"),
        ("i want to k1ll myself", "suicidal"),
        ("i been thinking of sucide", "suicidal"),
        ("I DON'T WANT TO BE HERE ANYMORE", "suicidal"),
        ("i want to dieeee", "suicidal"),
        ("i’m going to kill myself", "suicidal"),
        ("my dad hits me", "physical_abuse"),
        ("my step dad hits my mum", "domestic_abuse"),
        ("i cut myself when im stressed", "self_harm"),
        ("i make myself sick after i eat", "eating_disorder"),
        ("the olders make me hold stuff at my house", "criminal_exploitation"),
        ("i owe them money and they know where i live", "debt_threats"),
        ("a man online keeps asking me for nudes", "sexual_exploitation"),
        ("he touched me where he shouldnt", "sexual_abuse"),
        ("i get left on my own for days", "neglect"),
        ("my mum says she wishes i was never born", "emotional_abuse"),
        ("im gonna stab him", "threat_to_others"),
        ("someone is after me", "immediate_danger"),
        ("i got kicked out and have nowhere to sleep", "homelessness_running_away"),
        # wordings learnt from former sealed splits' misses, in general form
        ("yes. im being used to run lines right now", "criminal_exploitation"),
        ("i get sent to work in other towns for days", "criminal_exploitation"),
        ("cant say stuff in front of lads, like about my cutting", "self_harm"),
        ("if i go back to court id rather just end it", "suicidal"),
        ("ive been ringing 999 for my mum since i was 9", "domestic_abuse"),
        ("we are gonna ride out on the lads from the top estate", "threat_to_others"),
        ("got it all planned out 4 the wkend", "suicidal"),
        ("it would have been better if i hadnt woke up in the hospital", "suicidal"),
        ("his mum locks him out of the flat overnight", "neglect"),
        ("hes 26 im 13 we r in love", "sexual_exploitation"),
    ],
)
def test_disclosures_are_flagged_with_their_category(text, category):
    result = check(text)
    assert result.flag
    assert category in result.categories


@pytest.mark.parametrize(
    "text",
    [
        "I'd die for a youth club",
        "school was killing me",
        "i nearly died laughing",
        "kids carry knives because they are scared",
        "gangs groom young people",
        "grooming is a big problem round here",
        "county lines is ruining kids lives",
        "i could murder a maccies",
        "my mum would kill me if i got arrested again",
        "the run was 10 kms",
        "",
        "😀",
    ],
)
def test_idioms_and_opinions_are_not_flagged(text):
    assert not check(text).flag


def test_matches_point_at_the_original_text():
    text = "Honestly… I’ve been self-harming  again and I wanna  unalive myself"
    result = check(text)
    assert result.flag
    for match in result.matches:
        assert text[match.start : match.end] == match.phrase
    assert {"self_harm", "suicidal"} <= set(result.categories)


def test_normalise_maps_back_to_original_positions():
    norm, keep = normalise("I’M sooooo DONE")
    assert norm == "im so done"
    assert keep is not None and len(keep) == len(norm)


def test_as_dict_is_the_cli_json_shape():
    out = check("i want to die").as_dict()
    assert out["flag"] is True
    assert out["categories"] == ["suicidal"]
    assert set(out["matches"][0]) == {"category", "phrase", "start", "end"}


def test_every_category_has_a_label():
    lexicon = default_lexicon()
    assert [c for c, _ in lexicon.patterns] == list(CATEGORIES)
    assert all(lexicon.labels[c] for c in CATEGORIES)


def test_custom_lexicon_with_macros():
    lexicon = Lexicon.from_text(
        "version: 1\nmacros:\n  ME: '(?:me|us)'\ncategories:\n"
        "  bullying:\n    label: Bullying\n    patterns: ['pick(?:s|ed)? on {ME}']\n"
        "idioms: ['pick on me for the team']\n"
    )
    assert check("they pick on me", lexicon=lexicon).categories == ["bullying"]
    assert not check("pick on me for the team", lexicon=lexicon).flag


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("version: 1\n", "missing 'categories'"),
        ("categories:\n  x:\n    patterns: ['(']\n", r"<string>:3: bad pattern in x"),
        ("categories:\n  x:\n    patterns: ['{NOPE}']\n", r"<string>:3: unknown macro \{NOPE\}"),
        ("categories:\n  x:\n    words: [a]\n", r"<string>:3: unknown field"),
        ("categories:\n  x:\n    label: X\n", r"needs a list of patterns"),
        ("categories: {}\nextra: 1\n", r"<string>:2: unknown key 'extra'"),
        ("- a\n", "must be a mapping"),
    ],
)
def test_bad_lexicon_fails_with_file_and_line(yaml_text, message):
    with pytest.raises(LexiconError, match=message):
        Lexicon.from_text(yaml_text)


@pytest.mark.parametrize(
    "text",
    [
        # "kicked out" of a lesson, a school, a shop or a party is not losing a home
        "got kicked out of class like 3 times this week for talkin",
        "got chucked out of 2 schools lol now im at the pru",
        "they always kick us out the park at night even when were not doing nothing",
        "got kicked out the house party lol cos my mate was sick",
        "i got kicked out in yr 9 and went to the pru",
        # said as idioms
        "the record will never go away and follows u everywhere",
        "my brother ate my last pot noodle so i could kill him",
        "honestly id rather die than grass",
        "i would murder everyone at go karting",
        "they didnt tell me nothing and took my shoes",
        # past, over and dealt with, in the answer's own words
        "i used to self harm in year 7 but i had camhs for ages and i aint done it in 2 years",
        "when i was little my dad hit us but hes gone and i have a social worker now so its fine",
        "i ran away loads when i was 13 but i live with my aunty now and its stopped",
        # the past cue just after the phrase; "i was scared" and "still see my nurse" are past
        "the olders had me holding for them in year 9. my mum went to the police and it stopped",
        "i had an eating disorder a couple years back but im better now and still see my nurse",
        "id shoot my shot for an apprenticeship at the garage",
        "my dad is gonna murder my sister when he sees she dented his car lol",
        # more ways of saying it is over: moved away, looked into, an apology, "no more"
        "two years ago some lads was after me but we moved to a different area and its fine",
        "last time a officer hurt my arm. we complained, it was looked into and i got an apology",
        "my step dad hit me last year, social services came and now i live with my gran",
        "got caught with a blade in year 9 which was dumb, i dont carry no more",
        "when my son was being exploited they got him moved and hes back at college now",
        # a hyperbole taken back at once
        "if i have to do one more worksheet im gonna kill myself jk its just boring",
        # other children in general, with nobody in particular in the answer
        "kids round here get kicked out by their parents all the time",
        "loads of them go missing from the care homes every weekend, its well known",
        "there's kids as young as 12 running for people on the estate",
        # a brother or sister over a small thing; a parent over an ordinary thing
        "if my sister uses my straighteners again im gonna kill her",
        "i swear ill batter him if he finishes my crisps again lol",
        "if my dad sees my maths grades hes gonna kill me",
        "my nan said shell murder me if i miss the bus again haha",
        # ordinary going away, ordinary leaving, own things sold
        "wont be in next week cos im going away with cadets to wales",
        "i wont be here next year cos im moving to college in leeds",
        "selling my old xbox to get a bike",
        # professionals on topics, signs listed for parents, school and group chats
        "More training on responding to self-harm and suicidal thoughts would help the team.",
        "Across our caseload a high proportion have lived with domestic abuse.",
        "parents should know the signs like new trainers, two phones, going missing",
        "i got kicked out loads at my old school but the new one is better",
        "i got kicked out the group chat for posting memes",
        # housed since: "my own flat now", "supported lodgings"
        "i was sofa surfing last winter but the council got me my own flat",
        "we went away to a caravan for the weekend with my aunty",
        "been cutting for summer so its chicken and rice every day",
        # ordinary leaving with its reason; a course, the army, a parent's for the summer
        "not gonna be here much longer my mum is moving us to Derby",
        "im going away to start a plumbing course in january",
        "going away to my nans for the summer, she lives in Wales",
        "my sister took the last yoghurt again im gonna kill her",
        # over: an apology, "got me out with the NRM", family therapy, "thats over now"
        "last year an officer shoved me in the van, it got reported and he apologised",
        "they used me to sell when i was 13, my worker got me out with the NRM. thats over now",
        "i ran off loads when i was 12 but we did family therapy and im back living there",
        "Partner: cuckooing of vulnerable adults is rising; we want training on the NRM route.",
        "my worker pushes me hard to do my cv, annoying but it worked",
        "the bruises on my legs are from sparring on tuesday",
        "i need to get thinner for my weigh in on saturday",
        "if i go back to that estate ill be dead bored",
        # the weak past cue inside the phrase, a misspelt "when", "yr8" with no space
        "i was hit by my dad once but social sorted it and im safe now",
        "wen i was little my stepdad hit me, social took me away n hes in prison now",
        "i got bullied in yr8 and didnt want to live. new school and counselling, its good now",
        "my uncle hurt me when i was small, it went to court and now im in a good place",
        "i tried to end it two years ago, had loads of help and things are way better",
        # the school doing the kicking out; lashing out in the van; a threat taken back
        "college kicked him out for vaping in the toilets, hes at the training centre now",
        "i kicked out at the officers in the van and got another charge for it",
        "ill throttle her myself if she nicks my charger again, joking aside shes sound",
        # over: a beef squashed, a debt paid off, seeing the dietician is support
        "i was scared to go town cos of a beef but its squashed now, the yot sorted a meeting",
        "i owed a lad money last year but my nan paid it off, its all done now",
        "i had bulimia when i was 13, im better now and still see the dietitian",
        # "on purpose" about being rude or late, "ill do my homework"
        "the teacher reckons i was late on purpose",
        "wont be in next week, ill do my hours the week after",
        # look-alikes of the plain wordings above
        "im cutting down on sugar and ive started going gym",
        "my nan bought me trainers and wants me to go to church with her",
        "we slept on the floor at my mates sleepover lol",
        "i havent got a bed yet but the new one comes friday",
        "dad spends all his money on the football",
        "my worker said my son is being groomed for the captaincy at football",
        "if you think your child is being groomed, who do you ring",
        "lots of kids sofa surf round here cos their parents kick them out",
        "i sent threats to someone online over a girl and got arrested, it was stupid",
        "we moved back home after the flood",
        "hes out of hospital now and doing well",
        "i have autism and the police didnt get that i dont like being touched",
        "girls get touched at them parties, it should be talked about in pshe",
        "my mum will kill me when she sees my report, she was fuming last time",
        "this is my last week at the yot, thanks for everything",
        "theyre banging on the door at 6am for bail checks, way over the top",
        "so bored in the cell i was ready to bang my head against the wall",
        "kids dont even know theyre being used by the olders, someone should tell them",
        "his sister stopped eating properly for a while with the worry",
        "not everyone who wears a trackie is running lines",
        "im a dead man if my mum reads this lol",
        "i used to run for older lads but im out, moved to my dads in a different town a year ago. "
        "now i just need help getting on a bricklaying course",
        # over and dealt with, said in other words: living with someone now, out of it, a
        # fresh start, eating normally, safe because no one knows where i live
        "i went missing a lot when i was younger but i live with my aunt now, been there two years",
        "i owed some lads money a while back but the police helped us move and im out of it now",
        "last year people were after me but i got moved to a new town and no one knows where i "
        "live, its calm",
        "i didnt get help till i was groomed into running, but im away from them all now",
        "i had anorexia when i was 13, im eating normally now",
        # leaving for an ordinary reason; own offending, caught; a long assembly
        "i wont be here next year, my order finishes in may",
        "im not gonna be around to see it cos im 18 in march and go to probation",
        "im going away for a bit, got a job on a farm with my uncle",
        "i was dealing weed and got nicked, fair enough",
        "the assembly was so boring i wanted to die lol",
        # other children in general, told by someone who sees it
        "loads of kids round here have no one at home and no food in, the school should do "
        "breakfast",
        "younger ones get used to sell cos they dont get stopped, i see it all the time",
        # look-alikes of W24's kinds: a holiday at dad's, teeth after tea, a job, a bed stripped
        "not been home since friday cos im at my dads for half term, back sunday",
        "i go to the bathroom straight after tea to do my teeth",
        "the lads i work for at the car wash are sound",
        "my mum made me strip the bed and hoover",
        "my dad goes off for days fishing with my uncle",
        "skipped breakfast again cos i was late for the bus",
        "i wont be here next year, ive planned to go to college in leeds",
        # look-alikes of W27's kinds, and its past dealt with (written here)
        "my dad drives me round to deliver the papers on a sunday",
        "i got driven to different towns to play football for the academy",
        "my brother took my phone so i couldnt text my mate, so annoying",
        "something happened with the older lads at football so the coach split us up",
        "last year i took an overdose. i had loads of support after and im in a really good "
        "place now",
        "a teacher grabbed my arm years ago, it got investigated and she was moved to another "
        "school",
        # look-alikes of W29's kinds (written here)
        "he threw a party at her house and everyone came",
        "i wont be a problem for anyone anymore, im done with getting arrested",
        "been cutting my little brothers hair since lockdown",
        "i dont want to be here on fridays cos it clashes with boxing",
        "my mum is always tryna get me through my exams, she never stops",
        "year 9s round here get told to run for the olders, its everywhere",
        # look-alikes of the training data's hardest misses (written here)
        "wont need my locker after friday cos im moving to college in september",
        "i dont need the bus pass after june, my mum got a car",
        "we need a place to hang out that isnt the park",
        "this is my final goodbye to the yot, its been a good year",
        "i decided how the story ends in my english coursework",
        "the lads on the block play football every night",
        "my job at the warehouse is moving parcels for the big man in the office lol",
        # look-alikes of W31's false alarms: a move, a retirement, a past dealt with (written here)
        "were moving to leeds in march so i wont be around next year for the summer scheme",
        "my worker is retiring soon so she wont be here next year, gutted",
        "the girls group works, she is no longer going missing",
        "when my dad was hitting my mum social services got us moved and shes happy now, im back"
        " in college",
        "the lads who was making me hold stuff got arrested, im safe now and my worker still pops"
        " in",
        # look-alikes of W34's (training data): an order ending, a parent's app, an order or
        # a new home that keeps the harm away (written here)
        "i wont be around to see it cos i finish my referral order in june",
        "my dad checks my location on life360 every night lol",
        "my uncle used to hit me but social put me with my nan and she got special guardianship,"
        " best ive ever been",
        "the man who made me sell got arrested, im safe now",
        "there was a time i didnt want to be here. i had loads of support and im happy now",
        "when my stepdad was hitting my mum she got an injunction and he hasnt been near us since",
        "when my ex was threatening me the police got involved, hes got a restraining order now"
        " and the kids sleep properly again",
        # a look-alike of W33's kinds: medicine given once the nurse came (written here)
        "they wouldnt give me my tablets until the nurse had checked them, fair enough",
        # look-alikes of W36's (training data): a qualification, a party thrown, no longer
        # carrying, discharged, the threats stopped (written here)
        "im gonna do my cscs card in the summer then get on site with my uncle",
        "the staff threw me a surprise party when i left the unit, best day",
        "my son was being used to carry drugs last year. he no longer carries and he is at college",
        "when i was 14 the eating disorder team looked after me and i got discharged last spring",
        "last year some older lads were threatening me, my worker told the police and the threats"
        " stopped",
        # look-alikes of W35's false alarms: a past told with "when i was first", "for a bit",
        # an NRM, no contact now (written here)
        "an officer restrained me badly when i was first in the cells, it got investigated and i"
        " got an apology",
        "older lads had me running for them last year. i dont talk to any of them now",
        "we were homeless for a bit two winters ago, then the council got us into a flat, all good",
        "i was made to sell for some lads in year 9, police got me an nrm and i dont speak to them"
        " now",
        # look-alikes of W37's false alarms: an own offence given an outcome and done, the area
        # not safe for kids in general, still in the safe place, "get me locked up" (written here)
        "i was dealing at 14, got a community resolution and did all the sessions, clean since",
        "the park by the flats isnt safe for the little ones, needs cctv",
        "when i got kicked out they found me a foster placement. still there and im happy",
        "when i first started court i thought the yot were trying to get me sent down",
        # look-alikes of W40's (training data): debts to a company, long sleeves for a tattoo, a
        # gap closed by a new protocol (written here)
        "we fell into debt with the energy company but were on a plan now",
        "i wear long sleeves in summer cos of my eczema, its bad on my arms",
        "last year two lads were released with nowhere to go; since the new pathway it hasnt"
        " happened",
        # look-alikes of W38's false alarms: not around next year because of a move, a
        # counsellor every week after an attempt, doing better now (written here)
        "wont be around next year so dont save me a place, moving up to scotland with my dad",
        "i took an overdose in year 9. got loads of help and i see a therapist every week now,"
        " im good",
        "i was cutting myself last year. doing a lot better",
        "we never heard of cuckooing till the police did a talk at school",
        # look-alikes of W41's (training data): names called as a joke, words said sorry for,
        # a burden over costs, a transfer, recovered and well, laps, own offence (written here)
        "my brother calls me a waste of space as a joke, hes alright really",
        "my dad used to call me useless but he said sorry and we get on now",
        "he told me he feels like a burden because of what the fines cost us",
        "wont be here much longer, transferring to the yot in leeds",
        "i used to self harm in year 9 but i havent for over 2 years",
        "my daughter had bulimia last year, shes in recovery now",
        "the coach makes us run laps if we are late, fair enough",
        "got nicked at the station cos i hit him first, done my youth rehabilitation order now",
        # look-alikes of W39's false alarms: kids in general not feeling safe, an own arrest
        # for carrying (written here)
        "our estate had two stabbings. kids dont feel safe walking to school, we need lights",
        "police caught me for carrying a knife last year, did my order, finished now",
        # look-alikes of W44's (training data): an idiom quoted as an example, a programme
        # about exploitation (written here)
        "staff should know that sayings like im gonna kill him are just how kids talk",
        "we had an assembly on young people being used to sell, it was boring",
        # look-alikes of W45's (training data): canteen noodles, what everyone knows, county
        # lines heard of, nobody touched me, in the end it is better (written here)
        "i lived off noodles from the canteen",
        "everyone round here knows where i live its a small town",
        "i heard about county lines in an assembly",
        "they searched me in the cell, nobody touched me or nothing",
        "when i was young i had to look after my little brother cos mam was ill. in the end its"
        " alot better",
        # the kinds of W42's false alarms (written here): talking again, safe now after it all
        # stopped, helped to leave and in a new flat, a training topic, every lesson
        "when i got kicked out last year they got me into a hostel and me and my nan are talking"
        " again",
        "i was threatened over a debt last year but its all stopped now and i feel safe now",
        "there was domestic abuse at home when my daughter first started with you. with her"
        " social workers help i left and were in a new flat",
        "we need cpd for teachers, especially on cuckooing",
        "maths was torture, i wanted to die every lesson",
        # the kinds of W43's false alarms (written here): treated badly for where we are
        # from, now living safely, the first time and an apology
        "the police treat us like dirt cos were from the flats",
        "she told us about domestic abuse at home in year 8, shes now living safely with her aunty",
        "the first time was rough, a copper twisted my arm, my mum complained and the sergeant"
        " apologised",
        # a look-alike of W47's (training data): a visit in a game (written here)
        "my brothers getting a visit on fortnite tonight",
    ],
)
def test_context_guards_keep_idioms_and_resolved_past_out(text):
    assert not check(text).flag, check(text).matches


@pytest.mark.parametrize(
    "text",
    [
        "my mum kicked me out last night and i got nowhere to sleep",
        "got kicked out of my nans and now im at my mates",
        "i got kicked out",  # no place named: it stays a flag
        # past cues without the answer saying it is over
        "my dad used to hit me when i was little and nobody knows",
        # over, but something goes on now
        "i used to cut myself, camhs helped me but i started again last week",
        "when i was 12 he hit me and it got sorted but he still does it when mum is out",
        "i owe them from before i got nicked and they been to my nans door",
        "i used to cut myself, camhs sorted it, but im scared to tell them its back",
        # a group named, but a particular person too: the writer, "him", "my sister"
        "girls get taken to parties by older men, it happens to me and my mate",
        "kids dont want to go home after school. i stay out cos my dad kicks off",
        "kids get kicked out by their parents, my mum did it to my brother last night",
        "loads of kids go missing from that home, my sister has been gone 3 days",
        "if i have to go back there im gonna kill myself",  # no "jk": it stays a flag
        # the parent's and the sibling's idioms never cover telling, paying or coming home
        "my dad said hed kill me if i tell anyone",
        "if my stepdad finds out i told the police hes gonna kill me",
        "my brother said hell kill me if i dont pay him back",
        "im gonna stab him if he touches me again",
        "i wont be here next year cos i cant do this anymore",
        "YP on my caseload going missing most weekends, found in another town twice",
        # "got me into boxing" is not "it is over"; "didnt tell anyone" is never dealt with
        "my worker got me into football. i tried to overdose in may but didnt tell anyone",
        "i cut myself last year and never told anyone, my nan got me into art club",
        # "its not ok" is not "it is over"; pretending to be fine is not being fine
        "my dad hit me when i was 10, its not ok",
        "my stepdad hit me last year and things are not good",
        "my dad used to hit me, i tell everyone im fine",
        # leaving "much longer" with no ordinary reason, or moving "on"
        "im not gonna be here much longer, i cant do this",
        "not gonna be around much longer, moving on from all this",
        "my stepdad pushed me hard against the door last night",
        "the bruises on my arms are from him, not from boxing",
        # the over cues said the other way round: never sorted, no one stepped in, never knew
        "when i was 12 i got raped and i never got help",
        "my dad hit me when i was 10 and it never got sorted",
        "i was groomed last year and no one stepped in",
        "when i was 13 he hit me, nobody sorted it",
        "my uncle touched me when i was 9 and my mum never knew about it",
        "when i was 12 the police hit me and it never got looked into",
        "my stepdad used to hit me, its not over",
        # played down now: "i was" or "i had" elsewhere in the answer is not a past event
        "i was at my dads and he hits me, im fine tho",
        "i had a good week. my mum punches me when shes drunk but im ok",
        "i was going to say he touches me but im fine",
        "i got arrested once. my dad beats me but im used to it, its fine",
        "i was asked to sell for them, its fine i get paid",
        # "not joking", "i mean it", "shes done it before" undo an idiom
        "i want to kill myself and im not joking",
        "gonna end myself fr not kidding",
        "im gonna kill myself jk but not really",
        "i could kill him and i mean it",
        "my mum will kill me if i go home, shes done it before",
        # "its fine" with no "now" is played down, not over; "only hits me"; being caught
        # by the police does not end a debt
        "i got kicked out last week, living at my mates now, its fine",
        "my mum kicked me out a month ago, im fine at my mates",
        "im fine. he only hits me when hes drunk",
        "i was selling for them and got caught with the bag, im fine now but they say i owe them",
        # a cover story keeps it current: "i told them i fell off my bike"
        "my stepdad hit me when i was in year 9, i told school i fell off my bike, im fine now",
        # dealt with, then the risk came back
        "when i was 12 my dad hit me, it was sorted but him and mum are back together now",
        "years ago my uncle touched me, it got sorted but he comes round on sundays",
        "a year ago he beat my mum, he went to prison but hes out next week",
        "i got kicked out last year, got a flat through social but ive lost it now",
        "i used to self harm, im in a better place mostly but not really",
        "last year i was groomed online, it got sorted, but hes messaged me on a new account",
        "when i was 14 they had me running lines, i got moved, im back in the area now",
        "i was hit by staff at my old unit, the complaint was upheld but the same staff work there",
        "last year i owed a dealer, my mum paid it off but now they say i owe more",
        # a past cue in another sentence does not make this one past; help with something else
        "used to love football. my mums boyfriend hits me, the school sorted my timetable tho",
        "back in year 7 i was happy. now my stepdad hits me. my worker got involved with college",
        "last time i saw my worker was good. my mum hurts me when she drinks, im fine at school",
        # dealt with, but not: let off, sent back, still coming
        "he hurt me last year, he got arrested but they let him go",
        "i was raped two years ago, it went to court but he got off",
        "she used to starve me, social got involved, i live with my nan but i have to go back",
        "i used to sell for them, i stopped but they keep messaging me",
        # said of a group, then of me; an idiom with the harm beside it
        "loads of girls go to them parties and get touched, it happened to me last week",
        "young people get used to sell, the olders do it to my little brother",
        "kids at my school self harm, i do it too",
        "my mum will kill me when she sees my report, she broke my arm last time",
        # the look-alikes' words, with the harm still there
        "i was selling for them and got arrested, now they say i owe them",
        "kids get kicked out round here and my dad kicked me out last week",
        "i was going away for a bit to do a job for the olders",
        "i wanted to die last night it was so bad at home",
    ],
)
def test_context_guards_never_hide_what_goes_on(text):
    assert check(text).flag


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("categories:\n  x:\n    patterns: [a]\nresolved: [a]\n", "resolved must be a mapping"),
        (
            "categories:\n  x:\n    patterns: [a]\nresolved:\n  past: [a]\n  over: [b]\n",
            "resolved needs exactly past, over and current",
        ),
        (
            "categories:\n  x:\n    patterns: [a]\nresolved:\n  past: a\n  over: [b]\n"
            "  current: [c]\n",
            r"<string>:5: resolved.past must be a list",
        ),
    ],
)
def test_bad_resolved_section_fails_with_file_and_line(yaml_text, message):
    with pytest.raises(LexiconError, match=message):
        Lexicon.from_text(yaml_text)


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("i do bits for the big man after school and he gives me money", "criminal_exploitation"),
        ("im on the block shotting most nights", "criminal_exploitation"),
        (
            "her son is being actively exploited and was found in another county",
            "criminal_exploitation",
        ),
        ("we get picked up and taken to flats by older guys we met online", "sexual_exploitation"),
        (
            "some men off insta message us and then they pick us up in their car",
            "sexual_exploitation",
        ),
        ("i wear the same clothes for a week and nobody washes them", "neglect"),
        ("the man at my work keeps touching my leg and says its a secret", "sexual_abuse"),
        ("when i get out theyll be waiting, they know my release date", "immediate_danger"),
        ("me n the mandem gonna do the Oakfield lot friday, weve got blades", "threat_to_others"),
        ("she doesnt plan to be alive by her birthday and has researched methods", "suicidal"),
        ("i dont live anywhere, i go between mates and the park", "homelessness_running_away"),
        ("the police searched me and pulled my joggers down in the street", "harm_by_professional"),
        ("my stepdad says ill end up dead like my uncle", "emotional_abuse"),
        ("i only eat one apple a day so i stay skinny", "eating_disorder"),
        ("nobody fed us most weekends so i nicked stuff from the shop", "neglect"),
        ("i been living off school dinners and what my neighbour gives me", "neglect"),
        ("she screams at me for hours when shes had a drink", "emotional_abuse"),
        ("why does a 14 year old need £600 and two phones", "criminal_exploitation"),
        ("id feel safer anywhere but at home tonight", "immediate_danger"),
        ("make sure my little brother is looked after when im gone", "suicidal"),
        ("somethings gonna happen to a certain person this weekend", "threat_to_others"),
        ("i dont eat much, maybe once a day, i want to be thinner", "eating_disorder"),
        ("he sends me money and wants me to meet him", "sexual_exploitation"),
        ("my dad drinks and throws things at us", "domestic_abuse"),
        ("nobody at home cares if i come back", "neglect"),
        ("if i go back to that estate im dead", "immediate_danger"),
        ("my arms are like a barcode now haha", "self_harm"),
        ("her fella threw my mam into the kitchen table last night", "domestic_abuse"),
        ("mums boyfriend gave me a fat lip cos i was late back", "physical_abuse"),
        ("police have served an osman warning on him this week", "immediate_danger"),
        ("staff kept him in only his boxers in the cell", "harm_by_professional"),
        ("im not gonna be here after half term, ive made my mind up", "suicidal"),
        # plain wordings the lexicon had no pattern for
        ("my stepdad started hitting me", "physical_abuse"),
        ("the young person disclosed that his father hits him with a belt", "physical_abuse"),
        ("i think my friend is being abused at home", "physical_abuse"),
        ("a carer at the home hits us when no one is looking", "harm_by_professional"),
        ("a lad from college sent my nudes round the group chat", "sexual_abuse"),
        ("i have sex with older guys for somewhere to stay", "sexual_exploitation"),
        (
            "a man at the shop gives me free vapes and wants me to go to his flat",
            "sexual_exploitation",
        ),
        ("my son is being groomed by older boys and police wont help", "sexual_exploitation"),
        ("dad says im worthless every day", "emotional_abuse"),
        ("he takes my phone and says no one else will want me", "emotional_abuse"),
        ("mum spends the money on drink and we go without", "neglect"),
        ("i havent got a bed, i sleep on the floor at my dads", "neglect"),
        ("mums boyfriend broke her nose last week", "domestic_abuse"),
        ("im holding a bag for some lads and im scared to say no", "criminal_exploitation"),
        ("the olders took my bank card and use my account", "criminal_exploitation"),
        ("i owe a guy 2 bags and he keeps texting me threats", "debt_threats"),
        ("they say i owe more now", "debt_threats"),
        ("last year i was cutting and ive started again", "self_harm"),
        ("i keep making myself sick after tea", "eating_disorder"),
        ("i only eat one meal every two days", "eating_disorder"),
        ("i have pills saved up", "suicidal"),
        ("im going to get him back, i know where he lives", "threat_to_others"),
        ("im gonna shoot up the school", "threat_to_others"),
        ("if i grass theyll burn the house down", "immediate_danger"),
        ("i been staying in a car with my brother", "homelessness_running_away"),
        (
            "i ran off from the care home and been staying with a man i met",
            "homelessness_running_away",
        ),
        # more plain wordings, in general form (found with W26's development set)
        ("his stepdad keeps touchin her when mums at bingo", "sexual_abuse"),
        ("her uncle makes her watch porn on his tablet", "sexual_abuse"),
        ("mums fella treats me like a dog n screams at me all the time", "emotional_abuse"),
        ("the gas been off 3 weeks n we got no food in", "neglect"),
        ("my dad gets violent when hes had a drink and my sister sees it", "domestic_abuse"),
        ("a guy online sez hell send the pics to my school if i block him", "sexual_exploitation"),
        ("the lads check my location all day n i have to answer", "criminal_exploitation"),
        ("the debt went up to a grand while i was inside", "debt_threats"),
        ("i stub cigs out on my arm when its bad", "self_harm"),
        ("i hide my dinner in a bag n bin it after", "eating_disorder"),
        ("sometimes i step out in front of buses and hope", "suicidal"),
        ("whoever comes near my brother is getting it, i got a blade", "threat_to_others"),
        ("they shot at our front window last night", "immediate_danger"),
        ("been on my cousins sofa for 2 months, nowhere else", "homelessness_running_away"),
        ("the officer took me to a room with no cameras and hit me", "harm_by_professional"),
        # the kinds W24 told that the lexicon missed, in general form (written here)
        ("not had a proper tea in weeks, the cupboards are bare", "neglect"),
        ("mum doesnt know i spit my dinner into the bin", "eating_disorder"),
        ("i hear him throwing her about most nights", "domestic_abuse"),
        ("the sharpener blade is the only thing that helps", "self_harm"),
        ("its not from boxing. its from home", "physical_abuse"),
        ("i tell teachers its from football. its not", "physical_abuse"),
        ("my stepdad does that when hes been drinking", "physical_abuse"),
        ("the officer bent my wrists back till i cried", "physical_abuse"),
        ("i got kicked in the ribs by an officer in the van", "harm_by_professional"),
        ("they made me strip in the cell with the door open", "harm_by_professional"),
        ("she says im a mistake every single day", "emotional_abuse"),
        ("my dad doesnt talk to me for weeks when im bad", "emotional_abuse"),
        ("my uncle has been doing it since i was 8", "sexual_abuse"),
        ("her boyfriend keeps going into my room at night", "sexual_abuse"),
        ("i have to sleep with him and his mates to stay there", "sexual_exploitation"),
        ("woke up not knowing what happened at that flat", "sexual_exploitation"),
        ("the lads i work for want me in another town all week", "criminal_exploitation"),
        ("its a work phone, if i dont pick up i get a visit", "criminal_exploitation"),
        ("i lost the box and now they say i owe 600", "criminal_exploitation"),
        ("pay 40 a week or theyll stab me", "debt_threats"),
        ("they said next time its my mum they visit", "debt_threats"),
        ("theres a man with a knife looking for me round the flats", "immediate_danger"),
        ("got something for him in my pocket, hes gonna learn", "threat_to_others"),
        ("me and my cousin are gonna see to the boy who jumped him", "threat_to_others"),
        ("i just want to sleep and not wake up", "suicidal"),
        ("tell my nan im sorry for everything, she will understand after", "suicidal"),
        (
            "havent been home since tuesday, i ride the night bus cos its warm",
            "homelessness_running_away",
        ),
        # the kinds W27 told that the lexicon missed, in general form (written here)
        (
            "a lad collects me after college and i get driven round to drop stuff",
            "criminal_exploitation",
        ),
        ("he hides mums phone so she cant call her sister", "domestic_abuse"),
        ("something went on with an older lad at my last home, i never told", "sexual_abuse"),
        # the kinds W29 told that the lexicon missed, in general form (written here)
        ("her fella chucked a hot mug at my mam last night", "domestic_abuse"),
        ("he broke my wrist and we told the doctors i fell down the stairs", "physical_abuse"),
        ("dont worry about me, i wont be a burden to anyone much longer", "suicidal"),
        (
            "cant do homework when im kipping at a different mates every night",
            "homelessness_running_away",
        ),
        (
            "all my stuff is in bin bags at the moment, been like that since she kicked off",
            "homelessness_running_away",
        ),
        # the training data's hardest misses, in general form (written here)
        ("i know what im doing now, ive decided when it all ends", "suicidal"),
        ("my worker is the only one who could stop me getting through with it", "suicidal"),
        ("wont need my trainers after sunday", "suicidal"),
        ("gave all my games to my brother and wrote my nan a letter", "suicidal"),
        ("cant come tuesdays, got to finish my drops first", "criminal_exploitation"),
        ("im on the corner most nights for the olders", "criminal_exploitation"),
        ("when u holding for them u cant say no", "criminal_exploitation"),
        ("slept on a bench by the canal last night", "homelessness_running_away"),
        ("just somewhere to sleep that isnt the park", "homelessness_running_away"),
        ("jayden wont be smiling after friday trust me", "threat_to_others"),
        ("the feds never turned up when my mum rang about her boyfriend", "domestic_abuse"),
        ("i get jumped on the way home from school every day", "physical_abuse"),
        ("a boy on my unit hits me when staff arent looking", "physical_abuse"),
        # the kinds W31 told that the lexicon missed, in general form (written here)
        ("dads new rule is he keeps me in my room all weekend if i answer back", "emotional_abuse"),
        ("come before 5, mum says no one outside the family can know", "domestic_abuse"),
        ("im gonna get him back, just waiting for the right moment", "threat_to_others"),
        ("put up a plaque for kids like me that never make it lol", "suicidal"),
        # an order that has not kept him away (written here)
        ("she got an injunction but he still comes round and hits her", "domestic_abuse"),
        # the kinds W33 told that the lexicon missed, in general form (written here)
        (
            "the officers wouldnt give me my meds all night and i was shaking",
            "harm_by_professional",
        ),
        (
            "they give u a bag as a favour and next thing u work for them. thats where im at",
            "criminal_exploitation",
        ),
        # the kinds W36 (training data) told that the heads and the lexicon missed, in general
        # form (written here)
        ("honestly thought about checking out early last week, still do", "suicidal"),
        ("id be better off six feet under tbh", "suicidal"),
        ("my little brother is the only reason im still alive", "suicidal"),
        ("cant be bothered living anymore", "suicidal"),
        ("if i went nobody would even notice", "suicidal"),
        ("i keep thinking about walking into the sea", "suicidal"),
        ("hes not sorry. they're the ones who should be worried now", "threat_to_others"),
        ("ill sort it myself, hell know when it happens", "threat_to_others"),
        ("cant walk away now, they know where i live", "criminal_exploitation"),
        (
            "the custody nurse wasnt in so they refused him his inhaler all night",
            "harm_by_professional",
        ),
        ("not allowed out, ever, not even to school", "emotional_abuse"),
        # the kinds W35 told that the lexicon missed, in general form (written here)
        ("nobody would believe me about the things my tutor did after class", "sexual_abuse"),
        ("what my uncle does when mum is at work, would anyone even believe me", "sexual_abuse"),
        ("been going out country most weekends, back monday", "criminal_exploitation"),
        ("the older lads pay my train fare and i come back sunday", "criminal_exploitation"),
        # the kinds W37 told that the lexicon missed, in general form (written here)
        ("been keeping bits in my wardrobe for the olders since summer", "criminal_exploitation"),
        ("they bring parcels round and i just hide them, not mine", "criminal_exploitation"),
        ("i got given a burner that only calls one contact", "criminal_exploitation"),
        ("the older lad took my phone off me and gave me a cheap brick", "criminal_exploitation"),
        ("some men are chasing my mum for the money my dad owes", "debt_threats"),
        ("somebody lobbed a rock through my nans window", "immediate_danger"),
        ("gonna rush them lot proper, blades and that", "threat_to_others"),
        ("my shank isnt for self defence", "threat_to_others"),
        ("its for one man and he knows what he done", "threat_to_others"),
        ("got marks on my legs from my mams fella", "physical_abuse"),
        ("if school sees the bruises ill get it worse at home", "physical_abuse"),
        ("mum keeps me home till the bruises fade", "physical_abuse"),
        ("wish my dad used his words instead of his belt", "physical_abuse"),
        # the kinds of W40's disclosures (training data) that nothing caught, in general form
        # (written here)
        ("theres a scrap booked for next friday behind the leisure centre", "threat_to_others"),
        ("its all set, both sides are coming", "threat_to_others"),
        ("gonna sort this lad from college out tonight", "threat_to_others"),
        ("got something to settle with the Eastfield mandem", "threat_to_others"),
        ("still got unfinished business round the precinct", "threat_to_others"),
        ("staff saw a post about an arranged meet up this weekend", "threat_to_others"),
        ("my other phone only ever rings from the same number", "criminal_exploitation"),
        ("i always have to pick up the second phone", "criminal_exploitation"),
        ("got a new coat just for minding a parcel", "criminal_exploitation"),
        ("now im grafting for them most nights", "criminal_exploitation"),
        ("he gets picked up outside the school gates by men in a car", "criminal_exploitation"),
        ("i do runs up to Crewe for my mates cousin", "criminal_exploitation"),
        ("started shotting to clear what my brother owed", "debt_threats"),
        ("theyre taxing him every week now", "debt_threats"),
        ("they said if i come back short again im done", "debt_threats"),
        ("no one asked why i never got changed for swimming", "physical_abuse"),
        ("dad keeps me home till my lip heals", "physical_abuse"),
        ("steri strips every night lol", "self_harm"),
        # the kinds W38 told that the lexicon missed, in general form (written here)
        ("my dad shouts at me that he shouldve got rid of me", "emotional_abuse"),
        ("she yells at us that im ugly", "emotional_abuse"),
        ("i just want a house where nobody calls me names", "emotional_abuse"),
        ("my stepmum says im cursed", "emotional_abuse"),
        ("he blames me, says mum left because of me", "emotional_abuse"),
        ("they would all be happier if i wasnt around", "suicidal"),
        ("we cant leave working for them", "criminal_exploitation"),
        # the kinds of W41's disclosures (training data) that nothing caught, in general form
        # (written here)
        ("everyone would be fine if i just went away for good", "suicidal"),
        ("it will be easier for my family soon", "suicidal"),
        ("my manager takes my phone on shift", "criminal_exploitation"),
        ("dont get days off till the boss says", "criminal_exploitation"),
        ("im on the rota every night till midnight", "criminal_exploitation"),
        ("im working cos theres no choice", "criminal_exploitation"),
        ("the boss wont let me go to my yot appointments", "criminal_exploitation"),
        ("i earn nothing cos im working it off", "debt_threats"),
        ("nothing in the fridge from wednesday till payday", "neglect"),
        ("ill get a belting if school phones home", "physical_abuse"),
        ("sir always books it so we share a room", "harm_by_professional"),
        ("he told me im his favourite and its our secret", "harm_by_professional"),
        # the kinds W39 told that the lexicon missed, in general form (written here)
        ("they hand you the bag and you keep it, simple", "criminal_exploitation"),
        ("never ask questions or you get hurt", "criminal_exploitation"),
        ("when he drinks my mam always ends up on the floor", "domestic_abuse"),
        ("our house is walking on eggshells all the time", "domestic_abuse"),
        ("i was standing there looking over the edge of the multi storey", "suicidal"),
        ("at 2am i just walk to the bridge", "suicidal"),
        ("i eat loads then bring it all back up", "eating_disorder"),
        ("i get extra shifts now, its not a real job", "criminal_exploitation"),
        # the kinds of W44's disclosures (training data) that nothing caught, in general
        # form (written here)
        ("tbh the sandwich at the centre is the only thing i eat that day", "neglect"),
        ("missed tea cos we had nothing in again", "neglect"),
        ("nothing in the fridge most days", "neglect"),
        ("im carrying the bags for them but im not allowed to ask", "criminal_exploitation"),
        ("my dad goes mad, last time i couldnt sit down for days", "physical_abuse"),
        ("her boyfriend was trashing the flat up again", "domestic_abuse"),
        ("honestly whats the point of tomorrow", "suicidal"),
        ("she googled how many tablets would do it", "suicidal"),
        ("the police said there was a threat-to-life notice", "immediate_danger"),
        ("the opps reckon theyve got a shank for me", "immediate_danger"),
        ("the carer at the unit calls me a scumbag", "harm_by_professional"),
        (
            "when he was drunk he hit my mum and he got arrested. the police came out three times"
            " this month",
            "domestic_abuse",
        ),
        # the kinds of W45's disclosures (training data) that nothing caught, in general
        # form (written here)
        ("no one there hits you for being late", "physical_abuse"),
        ("i kept looking at the light fitting", "suicidal"),
        ("worked out which belt would hold", "suicidal"),
        ("thinking how i could do it with my laces", "suicidal"),
        ("im getting my wrists glued again", "self_harm"),
        ("done things with a bit of glass in my room", "self_harm"),
        ("we aint got heating at home", "neglect"),
        ("mums boyfriend says im not welcome after 9", "homelessness_running_away"),
        ("shes been getting in cars with men in their 30s", "sexual_exploitation"),
        ("he asked her to move to a private app", "sexual_exploitation"),
        ("staff locked him in the side room all afternoon", "harm_by_professional"),
        ("they took my dinner back as punishment", "harm_by_professional"),
        ("the officer refused her sanitary towels", "harm_by_professional"),
        ("staff say nobody wants u", "emotional_abuse"),
        ("the guard called me the n word", "emotional_abuse"),
        ("someone put a vid of our front door on snap with a knife emoji", "immediate_danger"),
        ("he has a new phone, not from us", "criminal_exploitation"),
        ("a parcel came with a new phone inside", "criminal_exploitation"),
        ("sick of park benches", "homelessness_running_away"),
        ("she wrote out a goodbye to each of us", "suicidal"),
        # the kinds W42 told that nothing caught (written here)
        ("that lad from the estate has a date with my blade", "threat_to_others"),
        (
            "the officers do what they want in the corner where the camera cant see",
            "harm_by_professional",
        ),
        # the kinds of W47's disclosures (training data) that nothing caught, in general
        # form (written here)
        ("were paying them a visit after school", "threat_to_others"),
        ("kyles getting a visit tonight", "threat_to_others"),
        ("jay from hollins is next on my list", "threat_to_others"),
        ("were doing them properly next time", "threat_to_others"),
        ("im taking one to the party and use it if i have to", "threat_to_others"),
        ("im gonna get that prick back for what he did", "threat_to_others"),
        ("tell him his sister better not walk home alone", "threat_to_others"),
        ("the officers took me behind the station for a quiet word", "harm_by_professional"),
        ("staff there can do whatever they want to kids", "harm_by_professional"),
        ("the cells were warmer than my house", "neglect"),
        ("my mam never cooks for us at all", "neglect"),
        ("we had no lecky last week", "neglect"),
        ("mum sold our food vouchers", "neglect"),
        ("my bf, hes 27", "sexual_exploitation"),
        ("the older lads at the flats give us free vapes", "sexual_exploitation"),
        ("hes a bit older and he sends me money for food", "sexual_exploitation"),
        ("i keep legging it from my placement", "homelessness_running_away"),
        ("slept in my mates van", "homelessness_running_away"),
        ("i tried to go last year, didnt work", "suicidal"),
    ],
)
def test_oblique_wordings_are_flagged(text, category):
    assert category in check(text).categories, check(text).matches


def test_bad_general_section_fails_with_file_and_line():
    with pytest.raises(LexiconError, match="general needs exactly group and person"):
        Lexicon.from_text("categories:\n  x:\n    patterns: [a]\ngeneral:\n  group: [kids]\n")


def test_a_custom_resolved_section_is_read():
    lexicon = Lexicon.from_text(
        "categories:\n  x:\n    patterns: ['he hit me']\n"
        "resolved:\n  past: ['used to']\n  over: ['sorted']\n  current: ['still']\n"
    )
    assert not check("he used to, he hit me, its sorted", lexicon=lexicon).flag
    assert check("he used to, he hit me, its sorted but he still does", lexicon=lexicon).flag
    assert check("he hit me, its sorted", lexicon=lexicon).flag  # no past cue


def test_a_weak_past_cue_counts_only_beside_the_phrase():
    lexicon = Lexicon.from_text(
        "categories:\n  x:\n    patterns: ['hits me']\n"
        "resolved:\n  past: ['last year']\n  near: ['i was']\n  over: ['sorted']\n"
        "  current: ['still']\n"
    )
    assert not check("i was, he hits me, its sorted", lexicon=lexicon).flag  # beside it
    assert check("i was at my dads today and he hits me, its sorted", lexicon=lexicon).flag
    assert check("i was. he hits me, its sorted", lexicon=lexicon).flag  # another sentence
    with pytest.raises(LexiconError, match=r"resolved\.near must be a list"):
        Lexicon.from_text(
            "categories:\n  x:\n    patterns: [a]\nresolved:\n  past: [a]\n  near: a\n"
            "  over: [b]\n  current: [c]\n"
        )


def test_text_speak_is_read_as_the_words_the_lexicon_knows_and_marks_the_words_as_written():
    text = "Me mam's fella keeps hittin her n thay sez not 2 tell"
    got = check(text)
    assert got.flag and "domestic_abuse" in got.categories
    for m in got.matches:  # the marks are on the original words, whatever was spelled out
        assert text[m.start : m.end] == m.phrase
    assert any("hittin her" in m.phrase for m in got.matches)
    # "n" is "and", a dropped g counts only for the lexicon's own -ing words
    assert check("he keeps hittin me n my sister").flag
    assert not check("im in the cabin n its raining").flag
    # the learned reading's words are untouched: text-speak is spelled out for matching only
    assert normalise("hittin n wiv") == ("hittin n wiv", None)


def test_how_often_it_used_to_happen_is_not_a_sign_it_goes_on():
    assert not check(
        "i used to go missin all the time. my worker did a plan and i live wiv my aunty now, "
        "i havent gone missin since june"
    ).flag
    assert check("i go missing all the time and no one notices").flag


@pytest.mark.parametrize(
    ("pattern", "unrolled"),
    [
        ("(?:my |our )?dad", "(?:my |our |)dad"),
        ("a(?:b(?:c)?)?d", "a(?:b(?:c|)|)d"),
        (r"a(?:\w+ ){0,2}b", r"a(?:(?:\w+ )(?:(?:\w+ )|)|)b"),
        (r"a(?:\w+ ){1,2}?b", r"a(?:\w+ )(?:|(?:\w+ ))b"),
        # left alone: lazy and possessive optionals, lookarounds, classes, escapes, big counts
        ("(?:x)??y", "(?:x)??y"),
        ("(?:x)?+y", "(?:x)?+y"),
        ("(?!x)?y", "(?!x)?y"),
        ("[(?:]?(?:a)?", "[(?:]?(?:a|)"),
        (r"\((?:a)?", r"\((?:a|)"),
        (r"(?:\w+ ){0,20}x", r"(?:\w+ ){0,20}x"),
    ],
)
def test_repeats_are_unrolled_into_alternatives(pattern, unrolled):
    assert _unrolled(pattern) == unrolled


@pytest.mark.parametrize(
    "pattern",
    [
        r"(?<![a-z])(?:(?:my |our )?(?:step ?)?(?:dad|mum)) (?:\w+ ){0,3}(?:hits?|kicks?) me",
        r"(?:he|she)(?: is| s)? (?:\w+ ){1,4}?(?:drunk|high)(?: again)?",
        r"(?:a(?:b)?){0,3}(?:ab)?c",
    ],
)
def test_unrolled_patterns_find_the_same_matches(pattern):
    texts = [
        "my step dad always hits me",
        "our mum really proper kicks us",
        "dad hits me and mum kicks us",
        "she s out again and drunk again",
        "he is at the pub with his mates high",
        "aabababc abc c ababc",
        "",
    ]
    plain, fast = re.compile(pattern), re.compile(_unrolled(pattern))
    for text in texts:
        assert [m.span() for m in plain.finditer(text)] == [m.span() for m in fast.finditer(text)]
