# The two commands of README.md. Everything they need is installed into .local/ on first use.
.PHONY: up test bench smoke install clean

up: ## Run the API locally (DynamoDB Local, moto, cargo lambda watch) with a demo clinic and key
	python3 infra/local/stack.py up

test: ## Every check: the local stack, cargo test, sam validate --lint, cfn-lint (serverless rules), fmt, clippy
	python3 infra/local/stack.py test

bench: ## The campaign run, campaign estimate, reminder-sweep, sweep fan-out, statistics and hostile-template benchmarks against fresh emulators (BENCH=campaign_run|campaign_estimate|reminder_sweep|sweep_fanout|stats|hostile_templates for one)
	python3 infra/local/stack.py bench

smoke: ## sam build of the functions a short scenario uses, then a patient, an SMS, a campaign and a reply through the bootstrap files it built
	python3 infra/local/stack.py smoke

install: ## Only install the pinned local tools into .local/
	python3 infra/local/stack.py install

clean:
	rm -rf .local target .aws-sam
