# bash completion for fleetca: commands, each command's options, CA ids and --format values.
# Installed as /usr/share/bash-completion/completions/fleetca (loaded on demand by bash-completion).

_fleetca()
{
	local cur prev cmd i opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	cmd=""
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "status validate plan apply reconcile export outbox help version --help --version" -- "$cur"))
		return 0
	fi

	if [[ $cmd == help ]]; then
		COMPREPLY=($(compgen -W "status validate plan apply reconcile export outbox" -- "$cur"))
		return 0
	fi

	case $prev in
	--format)
		if [[ $cmd == plan ]]; then
			COMPREPLY=($(compgen -W "text json markdown" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "text json" -- "$cur"))
		fi
		return 0
		;;
	--ca)
		COMPREPLY=($(compgen -W "apple_scep host_identity conditional_access conditional_access_idp" -- "$cur"))
		return 0
		;;
	-f | --file | --out | --plan | --metrics-file)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return 0
		;;
	--git-repo)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return 0
		;;
	--git-ref | --git-base)
		COMPREPLY=($(compgen -W "HEAD $(git for-each-ref --format='%(refname:short)' 2>/dev/null)" -- "$cur"))
		return 0
		;;
	--lock-timeout | --interval | --jitter | --generation)
		return 0
		;;
	esac

	case $cmd in
	status) opts="--format --check-keys --no-scan" ;;
	validate) opts="-f --file" ;;
	plan) opts="-f --file --git-repo --git-ref --git-base --format --out --offline" ;;
	apply) opts="-f --file --git-repo --git-ref --plan --lock-timeout --format" ;;
	reconcile) opts="-f --file --git-repo --git-ref --interval --jitter --once --metrics-file --lock-timeout" ;;
	export) opts="--ca --generation --bundle --out" ;;
	outbox) opts="--flush -f --file --lock-timeout --format" ;;
	*) return 0 ;;
	esac
	COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
	return 0
}
complete -F _fleetca fleetca
