"""Real SmolLM2-135M replies from the quick suite's GPTA cells (test data for the echo rule, issue 23).

Where they came from: ``gpta run --dataset {tweets,bbc-news} --fraction 0.02 --seed 13 --method gpta``
with the quick suite's settings (train.precision=fp32, train.epochs=3, train.min_steps_per_epoch=10,
train.max_text_tokens=64, train.dev_max=200, train.test_max=1000, train.eval_train_max=64,
gpta.rounds=2) on commit e4ede67 (before issue 23: temperature 0, LLM seed 0, the old prompts),
2026-12-02, embedded SmolLM2-135M-Instruct. ``CONVERSATIONS[name]`` is the result's
``conversation`` verbatim: system, first request, p0 reply, feedback, revision reply. The old loop
adopted as "new": tweets "The possible labels are: negative and positive." (line 2 of the reply,
a near-copy of our request's line 2) and bbc-news "The possible labels are business,
entertainment, politics, sport, and tech." (sentence 2 of the reply, sentence 2 of p0).
"""

CONVERSATIONS = {
    'tweets': [
        {'role': 'system', 'content': 'You are a teaching assistant for a small text classifier. You write a short instruction, called a prefix, that is placed in front of every input the classifier reads. You never see the data; you only get a description of it and training feedback.'},
        {'role': 'user', 'content': 'Dataset: Short English tweets (one or two sentences, informal, with hashtags and mentions) about technology topics such as self-driving cars. Task: binary sentiment classification. Each tweet is labelled negative or positive.\nThe possible labels are: negative or positive.\nWrite one instruction sentence that describes the task and lists all the possible labels. Reply with only that sentence.'},
        {'role': 'assistant', 'content': 'Task: classify tweet data into two categories: negative and positive.'},
        {'role': 'user', 'content': 'Training round 1 is done: the classifier trained 2 epochs with your instruction "Task: classify tweet data into two categories: negative and positive." (15 tokens).\nEffect of training: the classifier started this round untrained (dev accuracy 0.415 with the untrained head says nothing about your instruction) and reached 0.815; dev loss 0.469.\nEffect of the instruction: these instructions were each scored on dev with the same trained classifier (dev accuracy, higher is better; differences under about 0.055 are noise), best first:\n1. "Task: classify tweet data into two categories: negative and positive.": 0.815\nTrain loss is 0.507; train accuracy minus dev accuracy is -0.034.\nDev recall per class: negative 0.95, positive 0.47.\nWrite a new instruction sentence, different from all of the above, that you expect to score higher. It must describe the task and list all the possible labels. Reply with only that sentence.'},
        {'role': 'assistant', 'content': 'Task: classify tweet data into two categories: negative and positive.\nThe possible labels are: negative and positive.\nWrite a new instruction sentence that describes the task and list all the possible labels.\nThe task is to classify the tweet data into two categories: negative and positive.\nThe possible labels are: negative'},
    ],
    'bbc-news': [
        {'role': 'system', 'content': 'You are a teaching assistant for a small text classifier. You write a short instruction, called a prefix, that is placed in front of every input the classifier reads. You never see the data; you only get a description of it and training feedback.'},
        {'role': 'user', 'content': 'Dataset: BBC News articles from 2004-2005: a headline followed by the article body in formal British English. Task: topic classification into five sections: business, entertainment, politics, sport, tech.\nThe possible labels are: business, entertainment, politics, sport or tech.\nWrite one instruction sentence that describes the task and lists all the possible labels. Reply with only that sentence.'},
        {'role': 'assistant', 'content': 'Task: classify the given dataset into five sections based on the given labels. The possible labels are business, entertainment, politics, sport, and tech.'},
        {'role': 'user', 'content': 'Training round 1 is done: the classifier trained 2 epochs with your instruction "Task: classify the given dataset into five sections based on the given labels. The possible labels are business, entertainment, politics, sport, and tech." (31 tokens).\nEffect of training: the classifier started this round untrained (dev accuracy 0.180 with the untrained head says nothing about your instruction) and reached 0.865; dev loss 1.333.\nEffect of the instruction: these instructions were each scored on dev with the same trained classifier (dev accuracy, higher is better; differences under about 0.048 are noise), best first:\n1. "Task: classify the given dataset into five sections based on the given labels. The possible labels are business, entertainment, politics, sport, and tech.": 0.865\nTrain loss is 1.062; train accuracy minus dev accuracy is +0.135.\nDev recall per class: business 0.90, entertainment 0.67, politics 0.82, sport 1.00, tech 0.83.\nWrite a new instruction sentence, different from all of the above, that you expect to score higher. It must describe the task and list all the possible labels. Reply with only that sentence.'},
        {'role': 'assistant', 'content': 'Task: classify the given dataset into five sections based on the given labels. The possible labels are business, entertainment, politics, sport, and tech.'},
    ],
}
# What the old loop adopted after round 0 (the quotes)
OLD_ADOPTED = {
    "tweets": "The possible labels are: negative and positive.",
    "bbc-news": "The possible labels are business, entertainment, politics, sport, and tech.",
}


# bbc-news, the same cell and settings on commit 3444e5a (the issue-23 prompts, greedy reply 1 with
# the cell's seed): the revision repeats sentences 2-3 of the p0 reply that the cleaning had cut
# off ("The classifier must decide based on the given labels. ..."); an echo of the LLM's own
# earlier reply, which that commit still counted as new.
BBC_NEW_PROMPTS = [
    {'role': 'system', 'content': 'You write one instruction sentence for a small text classifier. The classifier reads your sentence in front of every input text; it tells the classifier what to decide. You never see the texts and you never classify anything yourself. Reply with the instruction sentence only.'},
    {'role': 'user', 'content': 'Dataset: BBC News articles from 2004-2005: a headline followed by the article body in formal British English. Task: topic classification into five sections: business, entertainment, politics, sport, tech.\nThe possible labels are: business, entertainment, politics, sport or tech.\nWrite the instruction sentence that the classifier will read before every text: it must say what to decide and name all the possible labels. Do not write or ask for an example. Reply with only that sentence.'},
    {'role': 'assistant', 'content': 'The task is to decide whether the text is a business, entertainment, politics, sports, or tech article. The classifier must decide based on the given labels. The task is to decide based on the given labels. The task is to decide based on the given labels. The task is to decide based on the given labels'},
    {'role': 'user', 'content': 'Training round 1 is done: the classifier trained 2 epochs with your instruction "The task is to decide whether the text is a business, entertainment, politics, sports, or tech article." (22 tokens).\nEffect of training: the classifier started this round untrained (dev accuracy 0.200 with the untrained head says nothing about your instruction) and reached 0.830; dev loss 1.350.\nEffect of the instruction: these instructions were each scored on dev with the same trained classifier (dev accuracy, higher is better; differences under about 0.053 are noise), best first:\n1. "The task is to decide whether the text is a business, entertainment, politics, sports, or tech article.": 0.830\nTrain loss is 1.072; train accuracy minus dev accuracy is +0.170.\nDev recall per class: business 0.90, entertainment 0.64, politics 0.78, sport 1.00, tech 0.70.\nWrite a new instruction sentence for the classifier to read before every text, different from all of the above, that you expect to score higher. It must describe the task and list all the possible labels. Reply with only that sentence.'},
    {'role': 'assistant', 'content': 'The task is to decide whether the text is a business, entertainment, politics, sports, or tech article. The classifier must decide based on the given labels. The task is to decide based on the given labels. The task is to decide based on the given labels. The task is to decide based on the given labels'},
]
