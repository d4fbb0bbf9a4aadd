package mensatek_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"

	"github.com/mensatek-go/mensatek"
)

// In your code, depend on the small interface you use; *mensatek.Client satisfies it.
type TextSender interface {
	SendText(ctx context.Context, phone, body string) (*mensatek.SendResult, error)
}

var _ TextSender = (*mensatek.Client)(nil)

// NotifyShipped is the code under test.
func NotifyShipped(ctx context.Context, s TextSender, phone, order string) (int64, error) {
	res, err := s.SendText(ctx, phone, "Your order "+order+" has shipped")
	if err != nil {
		return 0, fmt.Errorf("notify %s: %w", order, err)
	}
	return res.MessageID, nil
}

// In your tests, mock that interface with testify's mock package.
type mockSender struct{ mock.Mock }

func (m *mockSender) SendText(ctx context.Context, phone, body string) (*mensatek.SendResult, error) {
	args := m.Called(ctx, phone, body)
	res, _ := args.Get(0).(*mensatek.SendResult)
	return res, args.Error(1)
}

// This example is compiled and run by go test, so the README's copy of it cannot rot.
func Example_mockingWithTestify() {
	t := &exampleT{} // in a real test, the *testing.T you are given
	sender := &mockSender{}
	sender.On("SendText", mock.Anything, "34600000001", "Your order A-17 has shipped").
		Return(&mensatek.SendResult{MessageID: 42, Sent: 1}, nil).Once()
	sender.On("SendText", mock.Anything, "34600000002", mock.Anything).
		Return(nil, &mensatek.APIError{Operation: mensatek.OpSend, Code: -2, Message: "Sin créditos"}).Once()

	id, err := NotifyShipped(context.Background(), sender, "34600000001", "A-17")
	fmt.Println(id, err)
	_, err = NotifyShipped(context.Background(), sender, "34600000002", "A-18")
	fmt.Println(err)
	sender.AssertExpectations(t)
	fmt.Println("expectations met:", !t.failed)
	// Output:
	// 42 <nil>
	// notify A-18: mensatek: send: API error -2 (not enough credits): Sin créditos
	// expectations met: true
}

// exampleT stands in for *testing.T so the example can run; it implements mock.TestingT.
type exampleT struct{ failed bool }

func (e *exampleT) Logf(string, ...any) {}
func (e *exampleT) Errorf(format string, args ...any) {
	e.failed = true
	fmt.Printf(format+"\n", args...)
}
func (e *exampleT) FailNow() { e.failed = true }

// The test the README shows, as a user writes it.
func TestNotifyShipped(t *testing.T) {
	sender := &mockSender{}
	sender.On("SendText", mock.Anything, "34600000001", "Your order A-17 has shipped").
		Return(&mensatek.SendResult{MessageID: 42, Sent: 1}, nil).Once()

	id, err := NotifyShipped(context.Background(), sender, "34600000001", "A-17")
	require.NoError(t, err)
	require.Equal(t, int64(42), id)
	sender.AssertExpectations(t)
}

// The testing guide's testify section is code from this file, line for line.
func TestReadmeTestifySectionIsInThisFile(t *testing.T) {
	readmeSectionIsIn(t, "docs/testing.md", "## Mocking an interface with testify", "example_mock_test.go")
}

// readmeSectionIsIn checks that every line of the first Go block under the heading of the
// Markdown file doc is in file, so the guide's copy of a test cannot rot.
func readmeSectionIsIn(t *testing.T, doc, heading, file string) {
	t.Helper()
	readme, err := os.ReadFile(doc)
	require.NoError(t, err)
	self, err := os.ReadFile(file)
	require.NoError(t, err)
	section := string(readme)
	start := strings.Index(section, heading+"\n")
	require.GreaterOrEqual(t, start, 0, "%s has no section %q", doc, heading)
	section = section[start:]
	begin := strings.Index(section, "```go\n")
	require.GreaterOrEqual(t, begin, 0)
	block := section[begin+len("```go\n"):]
	block = block[:strings.Index(block, "```")]
	for _, line := range strings.Split(strings.TrimSpace(block), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		require.Contains(t, string(self), line, "a line of %s that is not in %s", doc, file)
	}
}
