# Sourced by .ci/tidy, .ci/release and .ci/installcheck: the modules of this repository, found in
# the tree (never a hard-coded list), and what each requires of the others.
#   module_dirs         every module's directory ("." first), siblings before the modules that
#                       require them; fails unless go.work uses exactly the tracked go.mod files
#   module_path DIR     the module path declared in DIR/go.mod
#   sibling_requires DIR   "path version" for each requirement of DIR/go.mod that is a module of
#                       this repository
# A go.mod under testdata/, vendor/ or a directory starting with "." or "_" is not a module of
# the repository (the go command ignores those directories too).

module_path() {
	awk '$1 == "module" { gsub(/"/, "", $2); print $2; exit }' "$1/go.mod"
}

# requires DIR prints "path version" for every require line of DIR/go.mod.
requires() {
	awk '
		$1 == "require" && $2 == "(" { block = 1; next }
		block && $1 == ")" { block = 0; next }
		block && NF >= 2 && $1 !~ /^\/\// { print $1, $2; next }
		$1 == "require" && NF >= 3 { print $2, $3 }
	' "$1/go.mod"
}

# tracked_module_dirs prints the directory of every tracked go.mod that is a module of ours.
tracked_module_dirs() {
	git ls-files -- 'go.mod' '*/go.mod' | while read -r f; do
		d=$(dirname "$f")
		[[ $d == . ]] && { echo .; continue; }
		case "/$d/" in
		*/testdata/* | */vendor/* | */.*/* | */_*/*) continue ;;
		esac
		echo "$d"
	done
}

# workspace_dirs prints the directories go.work uses, cleaned like tracked_module_dirs.
workspace_dirs() {
	go work edit -print | awk '
		$1 == "use" && $2 == "(" { block = 1; next }
		block && $1 == ")" { block = 0; next }
		block && NF >= 1 && $1 !~ /^\/\// { print $1; next }
		$1 == "use" && NF >= 2 { print $2 }
	' | sed -e 's|^\./||' -e 's|/$||' -e 's|^$|.|'
}

sibling_requires() {
	local dir=$1 paths
	paths=" $(for d in $(tracked_module_dirs); do module_path "$d"; done | tr '\n' ' ')"
	requires "$dir" | while read -r p v; do
		[[ $paths == *" $p "* ]] && echo "$p $v"
	done
	return 0
}

module_dirs() {
	local tracked used d p
	tracked=$(tracked_module_dirs | sort)
	used=$(workspace_dirs | sort)
	if [[ $tracked != "$used" ]]; then
		echo "go.work does not use exactly the modules in the tree:" >&2
		diff <(echo "$tracked") <(echo "$used") | sed -n 's/^</  not in go.work:/p; s/^>/  in go.work, no tracked go.mod:/p' >&2
		return 1
	fi
	declare -A dir_of
	for d in $tracked; do dir_of[$(module_path "$d")]=$d; done
	# tsort orders "before after" pairs; each module is paired with itself so that one with no
	# siblings is listed too.
	for d in $tracked; do
		echo "$d $d"
		sibling_requires "$d" | while read -r p _; do echo "${dir_of[$p]} $d"; done
	done | tsort
}
